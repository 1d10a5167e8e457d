from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from callcenter.events.envelope import Envelope
from callcenter.events.kit.auth import Principal
from callcenter.events.kit.openapi_links import links_passing
from callcenter.events.kit.problems import ProblemError, problem_responses
from callcenter.workorders.api.deps import (
    Identifier,
    Staff,
    TicketsDep,
    refusals_as_problems,
)
from callcenter.workorders.domain.commands import Act, Open
from callcenter.workorders.domain.config import ACTIONS
from callcenter.workorders.domain.ticket import Ticket
from callcenter.workorders.store import search
from callcenter.workorders.tickets import list_page, load, sla_state, ticket_type

router = APIRouter(tags=["tickets"])
Priority = Literal["low", "normal", "high", "urgent"]
Text = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@+-]+$")]
ActionName = Literal[
    "dispatch", "reply", "follow_up", "pend", "resume", "resolve", "close", "cancel",
    "reopen", "merge", "reprioritize",
]  # fmt: skip
assert set(ActionName.__args__) == set(ACTIONS)  # type: ignore[attr-defined]


class OpenBody(BaseModel):
    ticket_id: Text | None = Field(default=None, description="chosen by the service if absent")
    type: Text
    priority: Priority = "normal"
    title: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20_000)
    customer_id: Text | None = None
    call_id: Text | None = None
    source: Literal["agent", "api", "email"] = "agent"


class ActionBody(BaseModel):
    to: Text | None = Field(default=None, description="dispatch: the agent or group")
    note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=500)
    into: Text | None = Field(default=None, description="merge: the surviving ticket")
    priority: Priority | None = None


class TicketDecision(BaseModel):
    ticket: dict[str, Any]
    events: list[str]


def _time(moment) -> str | None:
    return moment.isoformat() if moment else None


def ticket_view(ticket: Ticket, version: int) -> dict[str, Any]:
    assert ticket.workflow is not None
    deadline = ticket.next_deadline()
    return {
        "ticket_id": ticket.id, "type": ticket.type, "title": ticket.title,
        "description": ticket.description, "status": ticket.status,
        "priority": ticket.priority, "source": ticket.source,
        "customer_id": ticket.customer_id, "call_id": ticket.call_id,
        "assignee": ticket.assignee, "opened_by": ticket.opened_by,
        "opened_at": _time(ticket.opened_at), "updated_at": _time(ticket.updated_at),
        "resolved_at": _time(ticket.resolved_at), "replies": ticket.replies,
        "follow_ups": ticket.follow_ups, "reopened": ticket.reopened,
        "escalation_level": ticket.escalation_level, "merged_into": ticket.merged_into,
        "merged_from": list(ticket.merged_from),
        "cancel_reason": ticket.cancel_reason,
        "sla_policy": ticket.sla.name if ticket.sla else None,
        "sla_state": sla_state(ticket), "breached": ticket.breached,
        "next_deadline": _time(deadline),
        "clocks": {
            metric: {
                "status": clock.status, "target_seconds": clock.target_seconds,
                "consumed_seconds": clock.consumed_seconds, "due_at": _time(clock.due_at),
                "warned": clock.warned, "breached": clock.breached,
            }
            for metric, clock in sorted(ticket.clocks.items())
        },
        "allowed": ticket.workflow.allowed(ticket.status),
        "version": version,
    }  # fmt: skip


def history_entry(envelope: Envelope) -> dict[str, Any]:
    return {
        "version": envelope.stream_version,
        "type": envelope.type,
        "time": envelope.time.isoformat(),
        "data": envelope.data_json(),
    }


def _roles(principal: Principal) -> tuple[str, ...]:
    return tuple(sorted(role.value for role in principal.roles))


@router.post("/tickets", response_model=TicketDecision, status_code=status.HTTP_201_CREATED,
             responses={**problem_responses(409, 422), 201: {"description": "Opened",
                 "links": links_passing("ticket_id", "$response.body#/ticket/ticket_id",
                                        GetTicket="get_ticket_v1_tickets__ticket_id__get",
                                        ActOnTicket="act_v1_tickets__ticket_id___action__post")}},
             summary="Open a ticket")  # fmt: skip
async def open_ticket(body: OpenBody, principal: Staff, service: TicketsDep):
    ticket_id = body.ticket_id or f"T-{uuid.uuid4().hex[:12]}"
    async with service.db.read() as conn:
        kind = await ticket_type(conn, principal.tenant, body.type)
    if kind is None:
        raise ProblemError(422, "Invalid request", f"unknown ticket type {body.type!r}",
                           field="type")  # fmt: skip
    command = Open(
        ticket_id, kind, by=principal.subject, priority=body.priority, title=body.title,
        description=body.description, customer_id=body.customer_id, call_id=body.call_id,
        source=body.source,
    )  # fmt: skip
    with refusals_as_problems():
        ticket, events, version = await service.execute(
            principal.tenant, ticket_id, command, correlation_id=body.call_id or ticket_id
        )
    return TicketDecision(ticket=ticket_view(ticket, version), events=_names(events))


def _names(events) -> list[str]:
    return [event.event_type for event in events]


@router.get("/tickets/{ticket_id}", responses=problem_responses(404),
            summary="A ticket, with its full history (every SLA clock transition too)")  # fmt: skip
async def get_ticket(ticket_id: Identifier, principal: Staff, service: TicketsDep):
    async with service.db.read() as conn:
        ticket, version, history = await load(conn, principal.tenant, ticket_id)
        if not ticket.exists:
            raise ProblemError(404, "Not found", f"ticket {ticket_id} does not exist")
        merged = await _merged_histories(conn, principal.tenant, ticket)
    return {
        **ticket_view(ticket, version),
        "history": [history_entry(e) for e in history],
        "merged": merged,
    }


async def _merged_histories(conn, tenant: str, survivor: Ticket) -> list[dict[str, Any]]:
    """The tickets merged into ``survivor`` (and into those, in turn), each with its
    own full history, in the order they were merged."""
    found, pending, seen = [], list(survivor.merged_from), {survivor.id}
    while pending:
        ticket_id = pending.pop(0)
        if ticket_id in seen:
            continue
        seen.add(ticket_id)
        ticket, _, history = await load(conn, tenant, ticket_id)
        found.append({
            "ticket_id": ticket_id, "title": ticket.title, "status": ticket.status,
            "follow_ups": ticket.follow_ups, "history": [history_entry(e) for e in history],
        })  # fmt: skip
        pending += ticket.merged_from
    return found


class BulkDispatchBody(BaseModel):
    ticket_ids: list[Text] = Field(min_length=1, max_length=500)
    to: Text
    note: str | None = Field(default=None, max_length=4000)


@router.post("/tickets:dispatch", responses=problem_responses(422),
             summary="Dispatch tickets to an agent or group; a result per ticket")  # fmt: skip
async def bulk_dispatch(body: BulkDispatchBody, principal: Staff, service: TicketsDep):
    results = []
    for ticket_id in dict.fromkeys(body.ticket_ids):
        command = Act("dispatch", by=principal.subject, roles=_roles(principal), to=body.to,
                      note=body.note)  # fmt: skip
        try:
            with refusals_as_problems():
                _, events, _ = await service.execute(principal.tenant, ticket_id, command)
        except ProblemError as refused:
            results.append({"ticket_id": ticket_id, "status": refused.status,
                            "detail": refused.detail})  # fmt: skip
            continue
        results.append({"ticket_id": ticket_id, "status": 200, "events": _names(events)})
    return {"results": results}


@router.post("/tickets/{ticket_id}/{action}", response_model=TicketDecision,
             responses=problem_responses(403, 404, 409, 422),
             summary="Take a workflow action (dispatch, reply, resolve, cancel...)")  # fmt: skip
async def act(
    ticket_id: Identifier,
    action: ActionName,
    principal: Staff,
    service: TicketsDep,
    body: ActionBody | None = None,
):
    body = body or ActionBody()
    command = Act(
        action, by=principal.subject, roles=_roles(principal), to=body.to, note=body.note,
        reason=body.reason, into=body.into, priority=body.priority,
    )  # fmt: skip
    with refusals_as_problems():
        ticket, events, version = await service.execute(principal.tenant, ticket_id, command)
    return TicketDecision(ticket=ticket_view(ticket, version), events=_names(events))


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode()


def _position(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError:
        raise ProblemError(422, "Invalid request", "cursor is not one this API returned",
                           field="cursor") from None  # fmt: skip


@router.get("/tickets", responses=problem_responses(422),
            summary="List tickets, newest first, with filters and a cursor")  # fmt: skip
async def list_tickets(
    principal: Staff,
    service: TicketsDep,
    status: Annotated[str | None, Query(max_length=40)] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: Annotated[str | None, Query(max_length=100)] = None,
    priority: Priority | None = None,
    sla_state: Literal["none", "ok", "warning", "breached"] | None = None,
    breached: bool | None = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="words, all of which the title, description or notes hold",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    filters = {
        "status": status, "type": type, "assignee": assignee, "customer_id": customer_id,
        "priority": priority, "sla_state": sla_state,
    }  # fmt: skip
    after = _position(cursor) if cursor is not None else None
    if q is not None and not search.query_words(q):
        raise ProblemError(422, "Invalid request", "q has no words to search for", field="q")
    async with service.db.read() as conn:
        rows = await list_page(conn, principal.tenant, filters, breached=breached, text=q,
                               before=after, limit=limit + 1)  # fmt: skip
    items = [_row_view(row) for row in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_cursor": _cursor(rows[limit - 1].position) if more else None}


def _row_view(row) -> dict[str, Any]:
    return {
        "ticket_id": row.ticket_id, "type": row.type, "status": row.status,
        "priority": row.priority, "title": row.title, "customer_id": row.customer_id,
        "call_id": row.call_id, "assignee": row.assignee, "sla_state": row.sla_state,
        "breached": row.breached, "next_deadline": row.next_deadline,
        "opened_at": row.opened_at, "updated_at": row.updated_at, "version": row.version,
    }  # fmt: skip
