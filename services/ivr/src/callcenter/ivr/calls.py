"""Call control, shared by the JSON API and the Twilio webhooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callcenter.ivr.desk import CallDesk
from callcenter.ivr.domain.engine import (
    CallState,
    Command,
    DipCompleted,
    HangUp,
    Input,
    RecordingCompleted,
    StartCall,
)
from callcenter.ivr.domain.flow import HttpNode
from callcenter.ivr.domain.instructions import Instruction, instructions
from callcenter.ivr.store.queries import Binding

DipPerformer = Callable[[HttpNode, dict[str, str]], Awaitable[DipCompleted]]


@dataclass(frozen=True)
class Answer:
    state: CallState
    instructions: list[Instruction]


class CallControl:
    def __init__(self, desk: CallDesk, dip: DipPerformer) -> None:
        self.desk = desk
        self.dip = dip

    async def start(self, tenant: str, call_id: str, ani: str, bound: Binding) -> Answer:
        command = StartCall(call_id, ani, bound.number, bound.flow_id, bound.flow_version)
        return await self._run(tenant, call_id, command)

    async def input(self, tenant: str, call_id: str, digits: str, silent: bool) -> Answer:
        return await self._run(tenant, call_id, Input(digits=digits, timeout=silent))

    async def recording(self, tenant: str, call_id: str, url: str, duration: float) -> Answer:
        return await self._run(tenant, call_id, RecordingCompleted(url=url, duration=duration))

    async def hang_up(self, tenant: str, call_id: str) -> Answer:
        return await self._run(tenant, call_id, HangUp(by="caller"))

    async def _run(self, tenant: str, call_id: str, command: Command) -> Answer:
        decided = await self.desk.submit(tenant, call_id, command)
        said = instructions(decided.before, decided.events)
        state = decided.after
        # A data dip happens between two decisions, outside any transaction.
        while state.awaiting == "dip" and isinstance(state.node, HttpNode):
            result = await self.dip(state.node, dict(state.variables))
            decided = await self.desk.submit(tenant, call_id, result)
            said += instructions(decided.before, decided.events)
            state = decided.after
        return Answer(state, said)
