"""``/v1/telephony``: a tenant's provider settings (Twilio auth token, status callbacks)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, SecretStr

from callcenter.events.kit.types import TextModel
from callcenter.ivr.api.deps import Designer, IvrDep
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Telephony

router = APIRouter(tags=["telephony"])


class TelephonySettings(TextModel):
    twilio_auth_token: SecretStr | None = Field(
        default=None, max_length=200, description="when set, Twilio webhooks must be signed"
    )
    status_callback_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)
    status_callback_secret: SecretStr | None = Field(
        default=None, min_length=16, max_length=200, description="HMAC-SHA256 key of callbacks"
    )
    twilio_account_sid: str | None = Field(
        default=None,
        pattern=r"^AC[0-9a-fA-F]{32}$",
        description="with the auth token: outbound legs are placed through Twilio's REST API",
    )
    outbound_caller_id: str | None = Field(
        default=None, pattern=r"^\+?[0-9]{3,20}$", description="From of outbound legs by default"
    )
    abandon_message: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="said to an answered callee no agent could take (who calls, a number to call)",
    )


class TelephonyView(BaseModel):
    twilio_signature_required: bool
    status_callback_url: str | None
    status_callbacks_signed: bool
    twilio_account_sid: str | None
    outbound_provider: str | None = Field(description="twilio, json (status callback) or none")
    outbound_caller_id: str | None
    abandon_message: str | None


def _view(settings: Telephony) -> TelephonyView:
    return TelephonyView(
        twilio_signature_required=bool(settings.twilio_auth_token),
        status_callback_url=settings.status_callback_url,
        status_callbacks_signed=bool(settings.status_callback_secret),
        twilio_account_sid=settings.twilio_account_sid,
        outbound_provider="twilio"
        if settings.twilio
        else "json"
        if settings.status_callback_url
        else None,
        outbound_caller_id=settings.outbound_caller_id,
        abandon_message=settings.abandon_message,
    )


@router.put("/telephony", response_model=TelephonyView, summary="Set the provider settings")
async def put_telephony(body: TelephonySettings, principal: Designer, ivr: IvrDep) -> TelephonyView:
    settings = Telephony(
        twilio_auth_token=body.twilio_auth_token.get_secret_value()
        if body.twilio_auth_token
        else None,
        status_callback_url=body.status_callback_url,
        status_callback_secret=body.status_callback_secret.get_secret_value()
        if body.status_callback_secret
        else None,
        twilio_account_sid=body.twilio_account_sid,
        outbound_caller_id=body.outbound_caller_id,
        abandon_message=body.abandon_message,
    )
    async with ivr.db.transaction() as conn:
        await queries.save_telephony(conn, principal.tenant, settings)
    return _view(settings)


@router.get(
    "/telephony", response_model=TelephonyView, summary="The provider settings (no secrets)"
)
async def get_telephony(principal: Designer, ivr: IvrDep) -> TelephonyView:
    async with ivr.db.read() as conn:
        return _view(await queries.load_telephony(conn, principal.tenant))
