"""Supervisors on live calls: monitor, whisper, barge, take over, leave.

The supervisor is the caller of the API (the token's subject); only supervisors
and admins may, and only on their own tenant's calls (another tenant's call is
not found). Each action is an event (``SupervisorJoined``, ``SupervisorLeft``)
the wallboard shows and the IVR edge bridges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel

from callcenter.routing.api.deps import AcdDep, Supervisor, refusals_as_problems
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.decide import call_view

router = APIRouter(tags=["supervisors"])
CallId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Mode = Literal["monitor", "whisper", "barge", "takeover"]

SUMMARIES: dict[Mode, str] = {
    "monitor": "Listen to a live call (neither party hears the supervisor)",
    "whisper": "Coach the agent: the agent hears the supervisor, the caller does not",
    "barge": "Join the conversation: both parties hear the supervisor",
    "takeover": "Take the call over: the supervisor becomes its agent; the agent wraps up",
}


class SupervisorDecision(BaseModel):
    call: dict[str, Any] | None
    events: list[str]


async def _decide(acd, principal, call_id: str, command: cmd.Command) -> SupervisorDecision:
    with refusals_as_problems():
        events = await acd.execute(principal.tenant, command, correlation_id=call_id)
    state = await acd.state(principal.tenant)
    call = state.calls.get(call_id)
    view = call_view(state, call, datetime.now(UTC)) if call else None
    return SupervisorDecision(call=view, events=[e.event_type for e in events])


def _route(mode: Mode) -> None:
    async def join(call_id: CallId, principal: Supervisor, acd: AcdDep) -> SupervisorDecision:
        command = cmd.Supervise(call_id, principal.subject, mode)
        return await _decide(acd, principal, call_id, command)

    join.__name__ = f"supervisor_{mode}"
    router.post(
        f"/calls/{{call_id}}/{mode}", response_model=SupervisorDecision, summary=SUMMARIES[mode]
    )(join)


for _mode in ("monitor", "whisper", "barge", "takeover"):
    _route(_mode)


@router.post("/calls/{call_id}/supervisor/leave", response_model=SupervisorDecision,
             summary="The supervisor leaves the call (the call goes on)")  # fmt: skip
async def supervisor_leave(call_id: CallId, principal: Supervisor, acd: AcdDep):
    return await _decide(acd, principal, call_id, cmd.StopSupervising(call_id, principal.subject))
