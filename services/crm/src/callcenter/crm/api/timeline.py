from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from callcenter.crm.api.deps import CustomerId, RuntimeDep, live_customer
from callcenter.crm.audit import record_card_read
from callcenter.crm.timeline import add_note, timeline
from callcenter.events.kit.auth import PrincipalDep

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


class TimelineEntry(BaseModel):
    kind: Literal["call", "note"]
    at: str
    call_id: str | None = None
    ivr_path: list[PathStep] | None = None
    note_id: str | None = None
    author: str | None = None
    text: str | None = None


@router.post(
    "/customers/{customer_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an agent's note to a customer's timeline",
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


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=list[TimelineEntry],
    response_model_exclude_none=True,
    summary="The customer's calls (with their IVR path) and notes, newest first",
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
