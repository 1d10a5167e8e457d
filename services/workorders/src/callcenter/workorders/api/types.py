from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select

from callcenter.events.kit.problems import ProblemError, problem_responses
from callcenter.workorders.api.deps import Identifier, Manager, Staff, TicketsDep
from callcenter.workorders.consumers import TRIGGERS, rule_for, types_by_disposition
from callcenter.workorders.domain.config import default_types
from callcenter.workorders.store.tables import follow_up_types, ticket_rules, ticket_types
from callcenter.workorders.tickets import ticket_type
from callcenter.workorders.types import type_from_json, type_to_json

router = APIRouter(tags=["ticket types"])
Priority = Literal["low", "normal", "high", "urgent"]
Trigger = Literal["voicemail", "failed_callback", "abandoned_call", "follow_up"]
Disposition = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class TicketTypeBody(BaseModel):
    workflow: dict[str, Any] | None = Field(
        default=None,
        description="states and, per action, from/to/roles/requires; default workflow if absent",
    )
    sla: dict[str, Any] = Field(
        default_factory=dict,
        description="targets per priority (first_reply, resolution in business seconds), "
        "calendar (zone, hours per weekday in minutes, holidays), warn_ratio, reopen_days",
    )


@router.get("/ticket-types", summary="The tenant's ticket types (defaults until it defines some)")
async def list_types(principal: Staff, service: TicketsDep) -> dict[str, Any]:
    kinds = {name: type_to_json(kind) for name, kind in default_types().items()}
    async with service.db.read() as conn:
        rows = await conn.execute(
            select(ticket_types).where(ticket_types.c.tenant == principal.tenant)
        )
        for row in rows:
            kinds[row.name] = type_to_json(type_from_json(row.name, row.definition))
    return {"items": [kinds[name] for name in sorted(kinds)]}


@router.put("/ticket-types/{name}", responses={**problem_responses(422), 200: {
                "description": "Defined", "links": {"OpenTicket": {
                    "operationId": "open_ticket_v1_tickets_post",
                    "requestBody": {"type": "$request.path.name"}}},
            }},
            summary="Define or replace a ticket type (open tickets keep theirs)")  # fmt: skip
async def put_type(
    name: Identifier, body: TicketTypeBody, principal: Manager, service: TicketsDep
) -> dict[str, Any]:
    definition = body.model_dump()
    try:
        kind = type_from_json(name, definition)
    except (ValueError, KeyError, TypeError) as error:
        field = "workflow" if body.workflow and "workflow" in str(error) else "sla"
        raise ProblemError(
            422, "Invalid request", f"invalid ticket type: {error}", field=field
        ) from None
    async with service.db.transaction() as conn:
        where = (ticket_types.c.tenant == principal.tenant) & (ticket_types.c.name == name)
        await conn.execute(ticket_types.delete().where(where))
        await conn.execute(
            ticket_types.insert().values(
                tenant=principal.tenant, name=name, definition=type_to_json(kind)
            )
        )
    return type_to_json(kind)


class RuleBody(BaseModel):
    ticket_type: str | None = Field(
        max_length=100, description="the type of the ticket to open; null: open none"
    )
    priority: Priority = "normal"
    by_disposition: dict[Disposition, str] | None = Field(
        default=None,
        max_length=200,
        description="follow_up only: the ticket type per disposition code; a disposition "
        "not listed takes ticket_type. Replaces the tenant's whole mapping",
    )


def rule_view(trigger: str, ticket_type: str | None, priority: str,
              by_disposition: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    view: dict[str, Any] = {"trigger": trigger, "ticket_type": ticket_type, "priority": priority}
    if trigger == "follow_up":
        view["by_disposition"] = by_disposition
    return view


@router.get("/ticket-rules", summary="Which events open tickets for the tenant, and how")
async def list_rules(principal: Staff, service: TicketsDep, request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    async with service.db.read() as conn:
        rules = {t: await rule_for(conn, settings, principal.tenant, t) for t in TRIGGERS}
        mapping = await types_by_disposition(conn, principal.tenant)
    return {"items": [rule_view(t, r.ticket_type, r.priority, mapping)
                      for t, r in rules.items()]}  # fmt: skip


@router.put("/ticket-rules/{trigger}", responses=problem_responses(422),
            summary="Open tickets of this type on this trigger (or none)")  # fmt: skip
async def put_rule(
    trigger: Trigger,
    body: RuleBody,
    principal: Manager,
    service: TicketsDep,
) -> dict[str, Any]:
    """``follow_up``: a call dispositioned with a follow-up opens a ticket of the type
    ``by_disposition`` names for its disposition, else of ``ticket_type`` (null: none)."""
    tenant = principal.tenant
    if body.by_disposition is not None and trigger != "follow_up":
        raise ProblemError(422, "Invalid request", "by_disposition is for the follow_up trigger",
                           field="by_disposition")  # fmt: skip
    mapping = body.by_disposition or {}
    async with service.db.transaction() as conn:
        wanted = [("ticket_type", body.ticket_type)] + [
            (f"by_disposition.{code}", name) for code, name in mapping.items()
        ]
        for field, name in wanted:
            if name is not None and not await ticket_type(conn, tenant, name):
                raise ProblemError(422, "Invalid request", f"unknown ticket type {name!r}",
                                   field=field)  # fmt: skip
        where = (ticket_rules.c.tenant == tenant) & (ticket_rules.c.trigger == trigger)
        await conn.execute(ticket_rules.delete().where(where))
        await conn.execute(ticket_rules.insert().values(
            tenant=tenant, trigger=trigger, ticket_type=body.ticket_type,
            priority=body.priority,
        ))  # fmt: skip
        if trigger == "follow_up":
            await conn.execute(follow_up_types.delete().where(follow_up_types.c.tenant == tenant))
            if mapping:
                await conn.execute(follow_up_types.insert(), [
                    {"tenant": tenant, "disposition": code, "ticket_type": name}
                    for code, name in mapping.items()
                ])  # fmt: skip
    return rule_view(trigger, body.ticket_type, body.priority, mapping)
