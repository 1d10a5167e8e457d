"""Outbound campaigns: create, upload contacts, start, pause, resume, progress; the
tenant's do-not-call list; an agent dialing the contact previewed to them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, Field

from callcenter.events.kit.problems import ProblemError
from callcenter.routing.api.deps import (
    AcdDep,
    AgentOrSupervisor,
    Reader,
    Supervisor,
    acting_for,
    refusals_as_problems,
)
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.campaigns import (
    Campaign,
    CampaignConfig,
    e164,
    parse_contacts,
)
from callcenter.routing.domain.config import Identifier

router = APIRouter(tags=["campaigns"])
Id = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]
MAX_UPLOAD_BYTES = 5_000_000
MAX_ROWS = 50_000


class CampaignBody(CampaignConfig):
    campaign_id: Identifier


class CampaignOut(BaseModel):
    id: str
    config: CampaignConfig
    progress: dict[str, Any]


class RowProblem(BaseModel):
    row: int = Field(description="1 = the first contact (the line after a CSV's header)")
    field: str
    error: str


class UploadOut(BaseModel):
    added: int
    rejected: list[RowProblem]
    events: list[str]


class StatusOut(BaseModel):
    id: str
    status: str
    events: list[str]


class DncBody(BaseModel):
    numbers: list[str] = Field(max_length=100_000, description="E.164 numbers")


class AgentBody(BaseModel):
    agent_id: Identifier


def _view(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id, config=campaign.config, progress=campaign.progress(datetime.now(UTC))
    )


async def _campaign(acd, principal, campaign_id: str) -> Campaign:
    state = await acd.state(principal.tenant)
    campaign = state.campaigns.get(campaign_id)
    if campaign is None:
        raise ProblemError(404, "Not found", f"campaign {campaign_id!r} does not exist")
    return campaign


async def _configure(acd, principal, campaign_id: str, config: CampaignConfig) -> CampaignOut:
    with refusals_as_problems():
        await acd.execute(
            principal.tenant,
            cmd.ConfigureCampaign(campaign_id, config),
            correlation_id=f"campaign:{campaign_id}",
        )
    return _view(await _campaign(acd, principal, campaign_id))


@router.post("/campaigns", response_model=CampaignOut, status_code=status.HTTP_201_CREATED,
             summary="Create a campaign (queue, mode, schedule, windows, rules)")  # fmt: skip
async def create_campaign(body: CampaignBody, principal: Supervisor, acd: AcdDep):
    state = await acd.state(principal.tenant)
    if body.campaign_id in state.campaigns:
        raise ProblemError(409, "Conflict", f"campaign {body.campaign_id!r} already exists")
    config = CampaignConfig.model_validate(body.model_dump(exclude={"campaign_id"}))
    return await _configure(acd, principal, body.campaign_id, config)


@router.put("/campaigns/{campaign_id}", response_model=CampaignOut,
            summary="Create or replace a campaign's configuration")  # fmt: skip
async def put_campaign(campaign_id: Id, config: CampaignConfig, principal: Supervisor, acd: AcdDep):
    return await _configure(acd, principal, campaign_id, config)


@router.get("/campaigns", response_model=list[CampaignOut])
async def list_campaigns(principal: Reader, acd: AcdDep):
    state = await acd.state(principal.tenant)
    return [_view(c) for c in sorted(state.campaigns.values(), key=lambda c: c.id)]


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: Id, principal: Reader, acd: AcdDep):
    return _view(await _campaign(acd, principal, campaign_id))


@router.get(
    "/campaigns/{campaign_id}/progress",
    summary="Attempted, reached, completed, remaining; abandon and completion rates",
)
async def campaign_progress(campaign_id: Id, principal: Reader, acd: AcdDep) -> dict[str, Any]:
    campaign = await _campaign(acd, principal, campaign_id)
    return {"id": campaign.id, **campaign.progress(datetime.now(UTC))}


@router.get(
    "/campaigns/{campaign_id}/calls",
    summary="Calls being placed: preview cards, legs ringing, callees waiting for an agent",
)
async def campaign_calls(campaign_id: Id, principal: Reader, acd: AcdDep) -> list[dict[str, Any]]:
    campaign = await _campaign(acd, principal, campaign_id)
    state = await acd.state(principal.tenant)
    legs = sorted(
        (leg for leg in state.legs.values() if leg.campaign_id == campaign.id),
        key=lambda leg: (leg.since, leg.call_id),
    )
    return [
        {
            "call_id": leg.call_id,
            "contact_id": leg.contact_id,
            "number": leg.number,
            "customer_id": campaign.contacts[leg.contact_id].customer_id,
            "attempt": campaign.contacts[leg.contact_id].attempts,
            "status": leg.status,
            "since": leg.since,
            "agent_id": leg.agent_id,
        }
        for leg in legs
    ]


@router.post(
    "/campaigns/{campaign_id}/contacts",
    response_model=UploadOut,
    summary="Upload contacts: CSV (text/csv, header contact_id,number,customer_id) or JSON",
    description=(
        "A JSON body is a list of {contact_id?, number, customer_id?} or {contacts: [...]}. "
        "Numbers are E.164; each contact's time zone comes from its number. Good rows are "
        "kept and bad rows reported with their row and field; 422 only if no row is good."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            }
        }
    },
)
async def upload_contacts(campaign_id: Id, request: Request, principal: Supervisor, acd: AcdDep):
    campaign = await _campaign(acd, principal, campaign_id)
    raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ProblemError(413, "Payload too large", f"at most {MAX_UPLOAD_BYTES} bytes")
    rows = _rows(request.headers.get("content-type", ""), raw)
    good, bad = parse_contacts(rows, set(campaign.contacts))
    rejected = [RowProblem(row=b.row, field=b.field, error=b.error) for b in bad]
    if not good:
        raise ProblemError(
            422,
            "Invalid request",
            "no contact in the list is valid; first: "
            f"row {rejected[0].row}, {rejected[0].field}: {rejected[0].error}",
            errors=[
                {"field": f"body[{r.row}].{r.field}", "row": r.row, "message": r.error}
                for r in rejected
            ],
        )
    with refusals_as_problems():
        events = await acd.execute(
            principal.tenant,
            cmd.AddContacts(campaign_id, good),
            correlation_id=f"campaign:{campaign_id}",
        )
    return UploadOut(added=len(good), rejected=rejected, events=[e.event_type for e in events])


def _rows(content_type: str, raw: bytes) -> list[Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProblemError(422, "Invalid request", "body: the list must be UTF-8") from None
    if content_type.startswith("text/csv"):
        reader = csv.DictReader(io.StringIO(text))
        if "number" not in (reader.fieldnames or []):
            raise ProblemError(422, "Invalid request", "body: the CSV header has no 'number'")
        rows: list[Any] = [dict(row) for row in reader]
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ProblemError(422, "Invalid request", f"body: not JSON ({error.msg})") from None
        if isinstance(document, dict):
            document = document.get("contacts")
        if not isinstance(document, list):
            raise ProblemError(
                422, "Invalid request", "body: a list of contacts, or {contacts: [...]}"
            )
        rows = document
    if not rows:
        raise ProblemError(422, "Invalid request", "body: the list holds no contact")
    if len(rows) > MAX_ROWS:
        raise ProblemError(413, "Payload too large", f"at most {MAX_ROWS} contacts per upload")
    return rows


async def _lifecycle(acd, principal, campaign_id: str, command: cmd.Command) -> StatusOut:
    with refusals_as_problems():
        events = await acd.execute(
            principal.tenant, command, correlation_id=f"campaign:{campaign_id}"
        )
    campaign = await _campaign(acd, principal, campaign_id)
    return StatusOut(id=campaign_id, status=campaign.status, events=[e.event_type for e in events])


@router.post("/campaigns/{campaign_id}/start", response_model=StatusOut)
async def start_campaign(campaign_id: Id, principal: Supervisor, acd: AcdDep):
    return await _lifecycle(acd, principal, campaign_id, cmd.StartCampaign(campaign_id))


@router.post("/campaigns/{campaign_id}/pause", response_model=StatusOut)
async def pause_campaign(campaign_id: Id, principal: Supervisor, acd: AcdDep):
    return await _lifecycle(acd, principal, campaign_id, cmd.PauseCampaign(campaign_id))


@router.post("/campaigns/{campaign_id}/resume", response_model=StatusOut)
async def resume_campaign(campaign_id: Id, principal: Supervisor, acd: AcdDep):
    return await _lifecycle(acd, principal, campaign_id, cmd.ResumeCampaign(campaign_id))


@router.post("/campaigns/{campaign_id}/contacts/{contact_id}/dial", response_model=StatusOut,
             summary="Preview: the agent shown this contact's card dials it now")  # fmt: skip
async def dial_contact(
    campaign_id: Id, contact_id: Id, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep
):
    acting_for(principal, body.agent_id)
    command = cmd.DialContact(campaign_id, contact_id, body.agent_id)
    return await _lifecycle(acd, principal, campaign_id, command)


@router.put("/dnc", summary="Replace the tenant's do-not-call list")
async def put_dnc(body: DncBody, principal: Supervisor, acd: AcdDep) -> dict[str, Any]:
    numbers, errors = [], []
    for index, number in enumerate(body.numbers):
        try:
            numbers.append(e164(number))
        except ValueError as error:
            errors.append({"field": f"body.numbers.{index}", "message": str(error)})
    if errors:
        first = errors[0]
        detail = f"{first['field']}: {first['message']}"
        raise ProblemError(422, "Invalid request", detail, errors=errors)
    with refusals_as_problems():
        await acd.execute(principal.tenant, cmd.SetDoNotCall(numbers), correlation_id="dnc")
    return {"numbers": sorted(set(numbers))}


@router.get("/dnc", summary="The tenant's do-not-call list")
async def get_dnc(principal: Supervisor, acd: AcdDep) -> dict[str, Any]:
    state = await acd.state(principal.tenant)
    return {"numbers": sorted(state.dnc)}
