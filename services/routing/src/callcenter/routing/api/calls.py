from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from callcenter.events.kit.problems import ProblemError
from callcenter.routing.api.deps import (
    AcdDep,
    AgentOrSupervisor,
    CallControl,
    Reader,
    acting_for,
    refusals_as_problems,
)
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import Identifier, Level, SkillName
from callcenter.routing.domain.decide import call_view

router = APIRouter(tags=["calls"])
CallId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]
PHONE = r"^\+?[0-9]{3,20}$"


class EnqueueBody(BaseModel):
    call_id: Identifier
    queue_id: Identifier
    priority: int = Field(default=0, ge=-10, le=10)
    customer_id: str | None = Field(default=None, max_length=100)
    ani: str | None = Field(default=None, pattern=PHONE)
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    preferred_agent_id: Identifier | None = None


class AgentBody(BaseModel):
    agent_id: Identifier


class HangUpBody(BaseModel):
    by: Literal["caller", "agent", "system"] = "caller"
    outcome: Literal["connected", "no_answer", "busy", "failed"] = Field(
        default="connected", description="for a callback the agent dialed: how the dial went"
    )


class CallbackBody(BaseModel):
    number: str = Field(pattern=PHONE, description="where to call the customer back")


class TransferBody(AgentBody):
    """Blind transfer: name exactly one target."""

    to_queue_id: Identifier | None = None
    to_agent_id: Identifier | None = None
    to_number: str | None = Field(default=None, pattern=PHONE, description="external number")

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        given = [self.to_queue_id, self.to_agent_id, self.to_number]
        if sum(1 for target in given if target) != 1:
            raise ValueError("name exactly one of to_queue_id, to_agent_id, to_number")
        return self


class ConsultBody(AgentBody):
    """Consult an agent by name, or the longest-idle ready agent of a queue."""

    to_agent_id: Identifier | None = None
    to_queue_id: Identifier | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ConsultBody:
        if (self.to_agent_id is None) == (self.to_queue_id is None):
            raise ValueError("name exactly one of to_agent_id, to_queue_id")
        return self


class PartyBody(AgentBody):
    party_agent_id: Identifier


class DispositionBody(AgentBody):
    disposition: Identifier
    notes: str = Field(default="", max_length=4000)
    follow_up: bool = Field(default=False, description="a work order should follow")
    callback_at: AwareDatetime | None = Field(
        default=None, description="a campaign call: call the contact again then"
    )


class CallDecision(BaseModel):
    call: dict[str, Any] | None
    events: list[str]


async def _decide(acd, principal, call_id: str, command: cmd.Command) -> CallDecision:
    with refusals_as_problems():
        events = await acd.execute(principal.tenant, command, correlation_id=call_id)
    state = await acd.state(principal.tenant)
    call = state.calls.get(call_id)
    view = call_view(state, call, datetime.now(UTC)) if call else None
    return CallDecision(call=view, events=[e.event_type for e in events])


@router.post("/calls", response_model=CallDecision, status_code=status.HTTP_201_CREATED,
             summary="Queue a call (the IVR does this through its events too)")  # fmt: skip
async def enqueue(body: EnqueueBody, principal: CallControl, acd: AcdDep):
    command = cmd.EnqueueCall(
        call_id=body.call_id,
        queue_id=body.queue_id,
        priority=body.priority,
        skills=body.skills,
        customer_id=body.customer_id,
        ani=body.ani,
        preferred_agent_id=body.preferred_agent_id,
    )
    return await _decide(acd, principal, body.call_id, command)


@router.get("/calls/{call_id}", summary="Where a call is: position, EWT, agent, and why")
async def get_call(call_id: CallId, principal: Reader, acd: AcdDep) -> dict[str, Any]:
    state = await acd.state(principal.tenant)
    call = state.calls.get(call_id)
    if call is None:
        raise ProblemError(
            404, "Not found", f"call {call_id!r} is not in any queue or conversation"
        )
    return call_view(state, call, datetime.now(UTC))


@router.post("/calls/{call_id}/answer", response_model=CallDecision)
async def answer(call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep):
    acting_for(principal, body.agent_id)
    return await _decide(acd, principal, call_id, cmd.AnswerCall(call_id, body.agent_id))


@router.post("/calls/{call_id}/reject", response_model=CallDecision)
async def reject(call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep):
    acting_for(principal, body.agent_id)
    return await _decide(acd, principal, call_id, cmd.RejectCall(call_id, body.agent_id))


@router.post("/calls/{call_id}/hangup", response_model=CallDecision)
async def hang_up(call_id: CallId, principal: Reader, acd: AcdDep, body: HangUpBody | None = None):
    body = body or HangUpBody()
    return await _decide(acd, principal, call_id, cmd.HangUp(call_id, body.by, body.outcome))


@router.post("/calls/{call_id}/callback", response_model=CallDecision,
             summary="The caller keeps their place and will be called back")  # fmt: skip
async def request_callback(
    call_id: CallId, body: CallbackBody, principal: CallControl, acd: AcdDep
):
    return await _decide(acd, principal, call_id, cmd.RequestCallback(call_id, body.number))


@router.get("/callbacks", summary="Callbacks waiting in queues")
async def list_callbacks(principal: Reader, acd: AcdDep) -> list[dict[str, Any]]:
    state = await acd.state(principal.tenant)
    now = datetime.now(UTC)
    return [
        call_view(state, call, now)
        for call in sorted(state.calls.values(), key=lambda c: c.id)
        if call.callback_number
    ]


# -- call handling: the agent named in the body acts (agents only as themselves) ----------


async def _handle(acd, principal, call_id: str, agent_id: str, command: cmd.Command):
    acting_for(principal, agent_id)
    return await _decide(acd, principal, call_id, command)


@router.post("/calls/{call_id}/hold", response_model=CallDecision)
async def hold(call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.HoldCall(call_id, body.agent_id))  # fmt: skip


@router.post("/calls/{call_id}/resume", response_model=CallDecision)
async def resume(call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.ResumeCall(call_id, body.agent_id))  # fmt: skip


@router.post("/calls/{call_id}/mute", response_model=CallDecision)
async def mute(call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.MuteCall(call_id, body.agent_id, muted=True))  # fmt: skip


@router.post("/calls/{call_id}/unmute", response_model=CallDecision)
async def unmute(call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.MuteCall(call_id, body.agent_id, muted=False))  # fmt: skip


@router.post("/calls/{call_id}/transfer", response_model=CallDecision,
             summary="Blind transfer to a queue or an agent, or out to a number")  # fmt: skip
async def transfer(call_id: CallId, body: TransferBody, principal: AgentOrSupervisor, acd: AcdDep):
    command = cmd.TransferCall(
        call_id,
        body.agent_id,
        to_queue_id=body.to_queue_id,
        to_agent_id=body.to_agent_id,
        to_number=body.to_number,
    )
    return await _handle(acd, principal, call_id, body.agent_id, command)


@router.post("/calls/{call_id}/consult", response_model=CallDecision,
             summary="Hold the caller and speak to another agent (warm transfer)")  # fmt: skip
async def consult(call_id: CallId, body: ConsultBody, principal: AgentOrSupervisor, acd: AcdDep):
    command = cmd.StartConsult(
        call_id, body.agent_id, to_agent_id=body.to_agent_id, to_queue_id=body.to_queue_id
    )
    return await _handle(acd, principal, call_id, body.agent_id, command)


@router.post("/calls/{call_id}/consult/complete", response_model=CallDecision,
             summary="The consulted agent takes the caller")  # fmt: skip
async def complete_consult(
    call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep
):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.CompleteConsult(call_id, body.agent_id))  # fmt: skip


@router.post("/calls/{call_id}/consult/cancel", response_model=CallDecision,
             summary="Back to the caller (or, as the consulted agent, hang up)")  # fmt: skip
async def cancel_consult(
    call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep
):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.CancelConsult(call_id, body.agent_id))  # fmt: skip


@router.post("/calls/{call_id}/conference", response_model=CallDecision,
             summary="Add an agent to the call (three-party conference)")  # fmt: skip
async def conference(call_id: CallId, body: PartyBody, principal: AgentOrSupervisor, acd: AcdDep):
    command = cmd.AddParty(call_id, body.agent_id, body.party_agent_id)
    return await _handle(acd, principal, call_id, body.agent_id, command)


@router.post("/calls/{call_id}/conference/leave", response_model=CallDecision,
             summary="Leave the conference; the other agent keeps the caller")  # fmt: skip
async def leave_conference(
    call_id: CallId, body: AgentBody, principal: AgentOrSupervisor, acd: AcdDep
):
    return await _handle(acd, principal, call_id, body.agent_id,
                         cmd.LeaveConference(call_id, body.agent_id))  # fmt: skip


@router.post("/calls/{call_id}/disposition", response_model=CallDecision,
             summary="Wrap-up code, notes and whether to follow up")  # fmt: skip
async def disposition(
    call_id: CallId, body: DispositionBody, principal: AgentOrSupervisor, acd: AcdDep
):
    command = cmd.Disposition(call_id, body.agent_id, body.disposition, body.notes, body.follow_up,
                              callback_at=body.callback_at)  # fmt: skip
    return await _handle(acd, principal, call_id, body.agent_id, command)
