"""The agent console's server side: the console page, each agent's desk (what they are
offered, on, or wrapping up, with the codes and reasons they may choose) and the floor
(every agent and queue, for supervisors), as JSON and pushed as server-sent events.

The page shows only what these views say, so a reconnect restores the exact state.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from callcenter.events.kit.auth import Principal, Role, principal_of
from callcenter.events.kit.problems import ProblemError
from callcenter.routing.api.agents import AgentId, agent_out
from callcenter.routing.api.deps import AcdDep, Reader, acting_for
from callcenter.routing.domain.campaigns import Campaign
from callcenter.routing.domain.decide import call_view
from callcenter.routing.domain.state import STAFFED, Agent, RoutingState

router = APIRouter(tags=["console"])
page = APIRouter()
CONSOLE = files("callcenter.routing").joinpath("console.html")
KEEPALIVE_SECONDS = 15.0
# Time-derived numbers: they move every second without anything happening, so a
# stream does not push for them (the page counts them up from the instants it got).
CLOCK_FIELDS = ("seconds_today", "waited", "hold_seconds", "ewt", "longest_wait")


@page.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console() -> str:
    return CONSOLE.read_text(encoding="utf-8")


@router.get("/console/config", summary="Where the console finds the other services' APIs")
async def console_config(request: Request, principal: Reader) -> dict[str, Any]:
    settings = request.app.state.runtime.settings
    return {
        "tenant": principal.tenant,
        "subject": principal.subject,
        "roles": sorted(role.value for role in principal.roles),
        "services": {
            "ivr": settings.console_ivr_url,
            "crm": settings.console_crm_url,
            "workorders": settings.console_workorders_url,
            "analytics": settings.console_analytics_url,
        },
    }


def desk_view(state: RoutingState, agent: Agent, now: datetime) -> dict[str, Any]:
    """What an agent's console shows: its state, its call (offered, on, consulted on, in
    conference), the wrap-up it owes, and what it may choose from."""
    on_it = agent.call_id and agent.status in ("offered", "on_call")  # not the wrapped call
    call = state.calls.get(agent.call_id) if on_it else None  # (a campaign's leg is not one)
    work: dict[str, Any] | None = None
    if call is not None:
        if agent.status == "offered":
            part = "offered"
        elif call.agent_id == agent.id:
            part = "owner"
        else:
            part = call.party_kind or "party"
        expires = call.offers.get(agent.id)
        work = {
            **call_view(state, call, now),
            "ani": call.ani,
            "part": part,
            "offer_expires_at": expires.isoformat() if expires else None,
        }
        if call.id in state.campaign_calls:
            work["campaign"] = _campaign_part(state, call.id)
    wrap = None
    if agent.status in ("on_call", "wrap_up") and agent.last_call:
        call_id, queue_id, customer_id = agent.last_call
        queue = state.queues.get(queue_id)
        codes = list(queue.config.dispositions) if queue else []
        if call_id in state.campaign_calls:  # the campaign's codes
            codes = list(_campaign_of(state, call_id).config.dispositions) or codes
        wrap = {
            "call_id": call_id,
            "queue_id": queue_id,
            "customer_id": customer_id,
            "dispositions": codes,
            "wrap_until": agent.wrap_until.isoformat() if agent.wrap_until else None,
        }
    return {
        "outbound": _reserved_leg(state, agent),
        "agent": {
            **agent_out(agent).model_dump(mode="json"),
            "seconds_today": agent.seconds_today(now),
            "talk_today": round(agent.talk_today, 1),
        },
        "call": work,
        "wrap": wrap,
        "not_ready_reasons": list(state.settings.not_ready_reasons),
        "queues": sorted(state.queues),
        "agents": sorted(a for a in state.agents if a != agent.id),
        "at": now.isoformat(),
    }


def _campaign_of(state: RoutingState, call_id: str) -> Campaign:
    return state.campaigns[state.campaign_calls[call_id][0]]


def _campaign_part(state: RoutingState, call_id: str) -> dict[str, Any]:
    campaign_id, contact_id = state.campaign_calls[call_id]
    campaign = state.campaigns[campaign_id]
    contact = campaign.contacts.get(contact_id)
    return {
        "campaign_id": campaign_id,
        "name": campaign.config.name,
        "contact_id": contact_id,
        "number": contact.number if contact else None,
        "customer_id": contact.customer_id if contact else None,
    }


def _reserved_leg(state: RoutingState, agent: Agent) -> dict[str, Any] | None:
    """A campaign's call the agent is kept for: a preview to dial, or a number ringing."""
    leg = state.legs.get(agent.call_id or "")
    if leg is None or leg.agent_id != agent.id or agent.status != "offered":
        return None
    campaign = state.campaigns[leg.campaign_id]
    contact = campaign.contacts.get(leg.contact_id)
    dials_at = leg.since + timedelta(seconds=campaign.config.preview_seconds)
    return {
        "call_id": leg.call_id,
        "status": leg.status,  # preview (the agent dials), dialing, connecting
        "campaign_id": leg.campaign_id,
        "name": campaign.config.name,
        "contact_id": leg.contact_id,
        "number": leg.number,
        "customer_id": contact.customer_id if contact else None,
        "dials_itself_at": dials_at.isoformat() if leg.status == "preview" else None,
    }


def floor_view(state: RoutingState, now: datetime) -> dict[str, Any]:
    """Every agent with its state and call, every queue with who waits: the supervisor's."""
    agents = []
    for agent in sorted(state.agents.values(), key=lambda a: a.id):
        call = state.calls.get(agent.call_id) if agent.status == "on_call" else None
        staffed = agent.since and agent.status != "logged_out"
        agents.append({
            **agent_out(agent).model_dump(mode="json"),
            "seconds_in_state": round((now - agent.since).total_seconds(), 1) if staffed else None,
            "supervisors": [{"supervisor_id": sid, "mode": mode}
                            for sid, (mode, _) in sorted(call.supervisors.items())]
            if call is not None and call.agent_id == agent.id else [],
        })  # fmt: skip
    queues = []
    for queue in sorted(state.queues.values(), key=lambda q: q.id):
        calls = [state.calls[call_id] for _, call_id in queue.order]
        waits = [(now - call.enqueued_at).total_seconds() for call in calls]
        queues.append({
            "id": queue.id,
            "name": queue.config.name,
            "waiting": sum(1 for call in calls if call.status == "waiting"),
            "offered": sum(1 for call in calls if call.status == "offered"),
            "longest_wait": round(max(waits), 1) if waits else None,
            "staffed": queue.staffed,
        })  # fmt: skip
    states = {status: 0 for status in ("ready", "offered", "on_call", "wrap_up", "not_ready")}
    for agent in state.agents.values():
        if agent.status in STAFFED or agent.status == "not_ready":
            states[agent.status] = states.get(agent.status, 0) + 1
    return {"agents": agents, "queues": queues, "states": states, "at": now.isoformat()}


async def _desk(acd, principal: Principal, agent_id: str) -> dict[str, Any]:
    acting_for(principal, agent_id)
    state = await acd.state(principal.tenant)
    agent = state.agents.get(agent_id)
    if agent is None:
        raise ProblemError(404, "Not found", f"agent {agent_id!r} does not exist")
    return desk_view(state, agent, datetime.now(UTC))


def _supervising(principal: Principal) -> None:
    if not principal.roles & {Role.SUPERVISOR, Role.ADMIN}:
        raise ProblemError(403, "Forbidden", "the floor is for supervisors and admins")


@router.get("/agents/{agent_id}/desk", summary="What the agent's console shows, now")
async def get_desk(agent_id: AgentId, principal: Reader, acd: AcdDep) -> dict[str, Any]:
    return await _desk(acd, principal, agent_id)


@router.get("/floor", summary="Every agent and queue now (supervisors)")
async def get_floor(principal: Reader, acd: AcdDep) -> dict[str, Any]:
    _supervising(principal)
    return floor_view(await acd.state(principal.tenant), datetime.now(UTC))


def stream_principal(
    request: Request, access_token: Annotated[str | None, Query(max_length=4096)] = None
) -> Principal:
    """EventSource cannot send headers: the token comes as a query parameter (never logged)."""
    return principal_of(request, access_token)


StreamPrincipal = Annotated[Principal, Depends(stream_principal)]
EVENT_STREAM = {200: {"content": {"text/event-stream": {}}}}


@router.get("/agents/{agent_id}/desk/stream", responses=EVENT_STREAM,
            summary="The desk pushed as server-sent events ('desk') on change")  # fmt: skip
async def desk_stream(
    agent_id: AgentId, request: Request, principal: StreamPrincipal, acd: AcdDep
) -> StreamingResponse:
    await _desk(acd, principal, agent_id)  # refused before the stream starts

    async def view() -> dict[str, Any]:
        return await _desk(acd, principal, agent_id)

    return _stream(request, "desk", view)


@router.get("/floor/stream", responses=EVENT_STREAM,
            summary="The floor pushed as server-sent events ('floor') on change")  # fmt: skip
async def floor_stream(request: Request, principal: StreamPrincipal, acd: AcdDep):
    _supervising(principal)

    async def view() -> dict[str, Any]:
        return floor_view(await acd.state(principal.tenant), datetime.now(UTC))

    return _stream(request, "floor", view)


def _stream(request: Request, name: str, view: Callable[[], Any]) -> StreamingResponse:
    changes = request.app.state.changes
    closing = request.app.state.runtime.closing

    async def events() -> AsyncIterator[str]:
        seen = changes.version
        document = await view()
        last = _without_clock(document)
        yield _event(name, document)
        while not closing.is_set() and not await request.is_disconnected():
            version = await changes.changed(seen, KEEPALIVE_SECONDS, unless=closing)
            if closing.is_set():
                break
            if version == seen:
                yield ": keepalive\n\n"
                continue
            seen = version
            try:
                document = await view()
            except ProblemError as refused:  # e.g. the agent was removed
                yield _event("problem", {"status": refused.status, "detail": refused.detail})
                break
            if (shape := _without_clock(document)) != last:
                last = shape
                yield _event(name, document)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items()
                if k not in CLOCK_FIELDS and k != "at"}  # fmt: skip
    if isinstance(value, list):
        return [_without_clock(item) for item in value]
    return value


def _event(name: str, document: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(document, separators=(',', ':'), default=str)}\n\n"
