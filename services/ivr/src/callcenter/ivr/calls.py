"""Call control, shared by the JSON API and the Twilio webhooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from callcenter.ivr.desk import CallDesk, CallNotFound, Decided, Idempotency, Replayed
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
from callcenter.ivr.domain.instructions import Answer, answer
from callcenter.ivr.domain.recording import Move, sensitive_moves
from callcenter.ivr.recordings import RecordingSettings
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding, Waiting

DipPerformer = Callable[[HttpNode, dict[str, str]], Awaitable[DipCompleted]]
# Told when a call enters or leaves a sensitive node (its recording pauses, resumes).
SensitiveMoves = Callable[[str, str, list[Move]], Awaitable[None]]


class CallControl:
    def __init__(
        self, desk: CallDesk, dip: DipPerformer, sensitive: SensitiveMoves | None = None
    ) -> None:
        self.desk = desk
        self.dip = dip
        self.sensitive = sensitive

    async def start(
        self, tenant: str, call_id: str, ani: str, bound: Binding, key: Idempotency | None = None
    ) -> tuple[Answer, RecordingSettings]:
        """The call's first answer, and the tenant's recording settings (read with it)."""
        command = StartCall(call_id, ani, bound.number, bound.flow_id, bound.flow_version)
        decided = await self.desk.submit(tenant, call_id, command, key)
        assert decided.recording is not None  # a start's outcome carries them
        return await self._finish(tenant, call_id, decided, key), decided.recording

    async def input(
        self,
        tenant: str,
        call_id: str,
        digits: str,
        silent: bool,
        key: Idempotency | None = None,
        *,
        survey: bool = False,
    ) -> Answer:
        """With ``survey``: ``SurveyAsks`` when a survey asking on the call takes the keys."""
        command = Input(digits=digits, timeout=silent)
        decided = await self.desk.submit(tenant, call_id, command, key, survey=survey)
        return await self._finish(tenant, call_id, decided, key)

    async def recording(
        self, tenant: str, call_id: str, url: str, duration: float, key: Idempotency | None = None
    ) -> Answer:
        command = RecordingCompleted(url=url, duration=duration)
        return await self._run(tenant, call_id, command, key)

    async def hang_up(
        self,
        tenant: str,
        call_id: str,
        key: Idempotency | None = None,
        *,
        by: str = "caller",
        reason: str | None = None,
    ) -> Answer:
        return await self._run(tenant, call_id, HangUp(by=by, reason=reason), key)  # type: ignore[arg-type]

    async def waiting(self, tenant: str, call_id: str) -> tuple[CallState, Waiting | None]:
        """The call as stored, and what routing told of its place in the queue."""
        async with self.desk.db.read() as conn:
            row = await queries.load_call(conn, tenant, call_id)
            if row is None:
                raise CallNotFound(f"call {call_id!r} does not exist")
            snapshot = row.snapshot
            flow = await self.desk.flows.get(
                conn, tenant, snapshot["flow_id"], snapshot["flow_version"]
            )
            told = await queries.waiting_call(conn, tenant, call_id)
        return CallState.from_snapshot(flow, snapshot), told

    async def _run(
        self, tenant: str, call_id: str, command: Command, key: Idempotency | None
    ) -> Answer:
        decided = await self.desk.submit(tenant, call_id, command, key)
        return await self._finish(tenant, call_id, decided, key)

    async def _finish(
        self, tenant: str, call_id: str, decided: Decided | Replayed, key: Idempotency | None
    ) -> Answer:
        if isinstance(decided, Replayed):
            return decided.answer
        said = list(decided.said)
        state = decided.after
        await self._moves(tenant, call_id, decided)
        # A data dip happens between two decisions, outside any transaction.
        while state.awaiting == "dip" and isinstance(state.node, HttpNode):
            result = await self.dip(state.node, dict(state.variables))
            then = replace(key, first=False, said=tuple(said)) if key else None
            decided = await self.desk.submit(tenant, call_id, result, then)
            assert not isinstance(decided, Replayed)  # only a request's first decision replays
            said += decided.said
            state = decided.after
            await self._moves(tenant, call_id, decided)
        return answer(state, said)

    async def _moves(self, tenant: str, call_id: str, decided: Decided) -> None:
        if self.sensitive is None or not decided.events:
            return
        moves = sensitive_moves(decided.before.flow, decided.before.node_id, decided.events)
        if moves:
            await self.sensitive(tenant, call_id, moves)
