from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from callcenter.crm.api.deps import CustomerId, RuntimeDep, live_customer
from callcenter.crm.audit import record_card_read
from callcenter.crm.timeline import add_note, record_interaction, timeline
from callcenter.events.envelope import utcnow
from callcenter.events.kit.auth import PrincipalDep
from callcenter.events.kit.problems import problem_responses

router = APIRouter(tags=["timeline"])


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class NoteOut(BaseModel):
    id: str
    author: str
    text: str
    created_at: str


class PathStep(BaseModel):
    kind: str
    node_id: str
    digits: str


class CsatAnswer(BaseModel):
    question: str
    score: int


class WorkOrderStep(BaseModel):
    step: str
    by: str
    at: str


class TimelineEntry(BaseModel):
    """One contact; which fields are present depends on ``kind``."""

    kind: Literal["call", "callback", "work_order", "note", "interaction", "disposition"]
    at: str
    call_id: str | None = None
    ivr_path: list[PathStep] | None = None
    queue_id: str | None = None
    wait: float | None = None
    agent_id: str | None = None
    duration: float | None = None  # talk time, seconds
    outcome: str | None = None  # queued, answered, abandoned, exited; a callback's outcome
    csat: list[CsatAnswer] | None = None
    callback_id: str | None = None
    attempts: int | None = None
    ticket_id: str | None = None
    type: str | None = None
    priority: str | None = None
    status: str | None = None
    breached: bool | None = None
    steps: list[WorkOrderStep] | None = None
    note_id: str | None = None
    author: str | None = None
    text: str | None = None
    interaction_id: str | None = None
    channel: str | None = None
    direction: str | None = None
    subject: str | None = None
    summary: str | None = None
    disposition: str | None = None  # the agent's code for how the call went
    notes: str | None = None  # the agent's notes on the disposition
    follow_up: bool | None = None  # the agent asked for a follow-up (a work order)
    campaign_id: str | None = None  # a campaign call's
    contact_id: str | None = None
    completed: bool | None = None  # the campaign contact is done (e.g. a sale)
    callback_at: str | None = None  # the contact asked to be called back then


class InteractionIn(BaseModel):
    """A contact on another channel, as an integrator (SMS gateway, mail system) saw it."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["sms", "email", "chat", "fax", "web", "phone"]
    direction: Literal["inbound", "outbound"]
    at: AwareDatetime | None = None  # when it happened; now if not given
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""


class InteractionOut(BaseModel):
    id: str
    customer_id: str
    channel: str
    direction: str
    subject: str
    summary: str
    author: str
    at: str


@router.post(
    "/customers/{customer_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an agent's note to a customer's timeline",
    responses=problem_responses(410),
)
async def post_note(
    customer_id: CustomerId, body: NoteIn, principal: PrincipalDep, runtime: RuntimeDep
):
    async with runtime.db.transaction() as conn:
        customer = await live_customer(conn, principal.tenant, customer_id)
        note = await add_note(conn, principal.tenant, customer, body.text,
                              author=principal.subject)  # fmt: skip
    runtime.committed()
    return note


@router.post(
    "/customers/{customer_id}/interactions",
    response_model=InteractionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an SMS, email or other contact on the customer's timeline (integrators)",
    responses=problem_responses(410),
)
async def post_interaction(
    customer_id: CustomerId, body: InteractionIn, principal: PrincipalDep, runtime: RuntimeDep
):
    entry = body.model_dump() | {"at": body.at or utcnow()}
    async with runtime.db.transaction() as conn:
        customer = await live_customer(conn, principal.tenant, customer_id)
        row = await record_interaction(
            conn, principal.tenant, customer, entry, author=principal.subject
        )
    runtime.committed()
    return row


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=list[TimelineEntry],
    response_model_exclude_none=True,
    summary="Every contact of the customer, newest first: calls, their dispositions, "
    "callbacks, work orders, notes, SMS and emails",
    responses=problem_responses(410),
)
async def get_timeline(
    customer_id: CustomerId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """Reading it is a read of the customer's data: recorded in the access audit."""
    async with runtime.db.transaction() as conn:
        await live_customer(conn, principal.tenant, customer_id)
        entries = await timeline(conn, principal.tenant, customer_id, limit=limit)
        await record_card_read(conn, principal, customer_id, call_id=None)
    return entries
