"""``/v1/recording-settings`` and ``/v1/recordings/{id}``: call recordings, audited."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import ProblemError
from callcenter.events.kit.types import TextModel
from callcenter.ivr import recordings
from callcenter.ivr.api.deps import CallController, IvrDep, Viewer

router = APIRouter(tags=["recordings"])
RecordingId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Listener = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


class RecordingSettingsBody(TextModel):
    enabled: bool
    consent_prompt: str | None = Field(
        default=None, min_length=1, max_length=1000, description="said at the start of each call"
    )
    retention_days: int = Field(default=recordings.DEFAULT_RETENTION_DAYS, ge=1, le=3650)
    scope: Literal["agent", "call"] = Field(
        default="agent",
        description="agent: each agent's part, from the answer; call: the whole call from "
        "its start (the IVR too; sensitive collect nodes pause it)",
    )


class RecordingView(BaseModel):
    recording_id: str
    call_id: str
    agent_id: str
    queue_id: str
    status: str = Field(description="recording, stopped, purged")
    started_at: str
    stopped_at: str | None
    uri: str | None = Field(description="the provider's file (gone once purged)")
    duration: float | None
    retain_until: str | None


class RecordingStoppedBody(TextModel):
    uri: str = Field(pattern=r"^https?://", max_length=2000)
    duration: float = Field(ge=0, le=86400, description="seconds")


class AuditEntry(BaseModel):
    subject: str
    roles: str
    at: str
    action: str = Field(description="viewed, purged")


@router.put(
    "/recording-settings", response_model=RecordingSettingsBody, summary="Record calls or not"
)
async def put_recording_settings(
    body: RecordingSettingsBody, principal: Admin, ivr: IvrDep
) -> RecordingSettingsBody:
    settings = recordings.RecordingSettings(
        body.enabled, body.consent_prompt, body.retention_days, scope=body.scope
    )
    async with ivr.db.transaction() as conn:
        await recordings.save_settings(conn, principal.tenant, settings)
    return body


@router.get(
    "/recording-settings", response_model=RecordingSettingsBody, summary="The recording settings"
)
async def get_recording_settings(principal: Viewer, ivr: IvrDep) -> RecordingSettingsBody:
    async with ivr.db.read() as conn:
        settings = await recordings.load_settings(conn, principal.tenant)
    return RecordingSettingsBody(
        enabled=settings.enabled,
        consent_prompt=settings.consent_prompt,
        retention_days=settings.retention_days,
        scope=settings.scope,  # type: ignore[arg-type]
    )


def _missing(recording_id: str) -> ProblemError:
    return ProblemError(404, "Unknown recording", f"recording {recording_id!r} does not exist")


@router.get(
    "/recordings/{recording_id}",
    response_model=RecordingView,
    summary="A recording's metadata and file (supervisors, admins; each look is audited)",
)
async def get_recording(
    recording_id: RecordingId, principal: Listener, ivr: IvrDep
) -> RecordingView:
    try:
        return RecordingView(**await recordings.look(ivr.db, principal, recording_id))
    except recordings.RecordingNotFound:
        raise _missing(recording_id) from None


@router.get(
    "/recordings/{recording_id}/audit",
    response_model=list[AuditEntry],
    summary="Who looked at a recording, when (admins)",
)
async def get_recording_audit(
    recording_id: RecordingId, principal: Admin, ivr: IvrDep
) -> list[AuditEntry]:
    try:
        entries = await recordings.audit(ivr.db, principal.tenant, recording_id)
    except recordings.RecordingNotFound:
        raise _missing(recording_id) from None
    return [AuditEntry(**entry) for entry in entries]


@router.post(
    "/recordings/{recording_id}/stopped",
    response_model=RecordingView,
    summary="The provider's file of a recording (retries change nothing)",
)
async def recording_stopped(
    recording_id: RecordingId, body: RecordingStoppedBody, principal: CallController, ivr: IvrDep
) -> RecordingView:
    try:
        shown, appended = await recordings.stopped(
            ivr.db, principal.tenant, recording_id, body.uri, body.duration, time.time()
        )
    except recordings.RecordingNotFound:
        raise _missing(recording_id) from None
    if appended:
        ivr.committed()
    return RecordingView(**shown)
