"""The single writer of calls: decides commands in batches, one transaction per batch.

Commits are the costly part (decision 0002), so requests wait in a queue and the
desk takes everything waiting, decides each command against its call's state
(in order, a call's commands seeing the previous ones), appends all the events
in one transaction, updates the calls' snapshots, and only then answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.catalogue import Event
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope, format_time, new_envelope
from callcenter.ivr.domain.engine import CallState, Command, StartCall, decide, evolve
from callcenter.ivr.domain.flow import Flow
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import calls

log = logging.getLogger(__name__)


class CallNotFound(LookupError):
    pass


class FlowMissing(LookupError):
    pass


def stream_id(tenant: str, call_id: str) -> str:
    return f"ivr.call:{tenant}:{call_id}"


class FlowCache:
    """Published flow versions are immutable: parse each once."""

    def __init__(self, size: int = 1024) -> None:
        self._flows: OrderedDict[tuple[str, str, int], Flow] = OrderedDict()
        self._size = size

    async def get(self, conn: AsyncConnection, tenant: str, flow_id: str, version: int) -> Flow:
        key = (tenant, flow_id, version)
        if (flow := self._flows.get(key)) is not None:
            self._flows.move_to_end(key)
            return flow
        stored = await queries.flow_version(conn, tenant, flow_id, version)
        if stored is None:
            raise FlowMissing(f"flow {flow_id!r} version {version} does not exist")
        flow = Flow.model_validate(stored.document)
        self._flows[key] = flow
        if len(self._flows) > self._size:
            self._flows.popitem(last=False)
        return flow


@dataclass(frozen=True)
class Decided:
    before: CallState
    events: list[Event]
    after: CallState


@dataclass
class _Job:
    tenant: str
    call_id: str
    command: Command
    future: asyncio.Future[Decided] = field(repr=False)


@dataclass
class _Call:
    version: int
    state: CallState
    stored: bool  # a row exists already


class CallDesk:
    def __init__(
        self,
        db: Database,
        flows: FlowCache,
        *,
        source: str,
        committed: Callable[[], None],
        max_batch: int = 256,
    ) -> None:
        self.db = db
        self.flows = flows
        self.source = source
        self.committed = committed
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        # States of the calls this desk wrote last, so a batch need not read them
        # back. Another replica writing the same call makes the append fail on
        # its stream version: the cache is then dropped and the batch redone.
        self._live: OrderedDict[tuple[str, str], _Call] = OrderedDict()
        self._live_size = 50_000

    async def submit(self, tenant: str, call_id: str, command: Command) -> Decided:
        future: asyncio.Future[Decided] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(tenant, call_id, command, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="call-desk")
        return await future

    async def _drain(self) -> None:
        """Take everything waiting, as batches, until nothing waits (then the task ends)."""
        while not self._queue.empty():
            batch = [self._queue.get_nowait()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self.process(batch)

    async def close(self) -> None:
        if self._worker is not None:
            await self._worker

    async def process(self, batch: list[_Job]) -> None:
        try:
            try:
                outcomes = await self._attempt(batch)
            except store.ConcurrencyError:
                # Another replica wrote one of these calls: forget what we hold, read again.
                self._live.clear()
                outcomes = await self._attempt(batch)
        except Exception as error:
            log.exception("a batch of %d call commands failed", len(batch))
            outcomes = [error] * len(batch)
        self._answer(batch, outcomes)

    async def _attempt(self, batch: list[_Job]) -> list[Decided | Exception]:
        now = datetime.now(UTC)
        outcomes: list[Decided | Exception] = []
        known: dict[tuple[str, str], _Call] = {}
        envelopes: list[Envelope] = []
        async with self.db.transaction() as conn:
            stored = await self._read_calls(conn, batch)
            for job in batch:
                outcomes.append(await self._decide(conn, job, stored, known, envelopes, now))
            await store.append(conn, envelopes)
            await self._save(conn, known, now)
        for key, call in known.items():
            if call.version == 0:
                continue
            if call.state.status == "ended":
                self._live.pop(key, None)
            else:
                self._live[key] = _Call(call.version, call.state, True)
                self._live.move_to_end(key)
        while len(self._live) > self._live_size:
            self._live.popitem(last=False)
        if envelopes:
            self.committed()
        return outcomes

    async def _read_calls(
        self, conn: AsyncConnection, batch: list[_Job]
    ) -> dict[tuple[str, str], queries.CallRow]:
        """The stored calls of the batch not in memory, one query per tenant."""
        missing: dict[str, set[str]] = {}
        for job in batch:
            if (job.tenant, job.call_id) not in self._live:
                missing.setdefault(job.tenant, set()).add(job.call_id)
        stored: dict[tuple[str, str], queries.CallRow] = {}
        for tenant, call_ids in missing.items():
            rows = await queries.load_calls(conn, tenant, call_ids)
            stored.update(((tenant, call_id), row) for call_id, row in rows.items())
        return stored

    def _answer(self, batch: list[_Job], outcomes: list[Decided | Exception]) -> None:
        for job, outcome in zip(batch, outcomes, strict=True):
            if job.future.done():
                continue  # the caller went away
            if isinstance(outcome, Exception):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    async def _decide(
        self,
        conn: AsyncConnection,
        job: _Job,
        stored: dict[tuple[str, str], queries.CallRow],
        known: dict[tuple[str, str], _Call],
        envelopes: list[Envelope],
        now: datetime,
    ) -> Decided | Exception:
        key = (job.tenant, job.call_id)
        call = known.get(key) or self._live.get(key)
        try:
            if call is None:
                call = await self._load(conn, job, stored.get(key))
        except (CallNotFound, FlowMissing) as error:
            return error
        try:
            events = decide(job.command, call.state, now)
        except Exception as error:  # noqa: BLE001 - a rejected command leaves the batch intact
            return error
        after = call.state
        for offset, event in enumerate(events, start=1):
            after = evolve(after, event)
            envelopes.append(
                new_envelope(
                    event,
                    source=self.source,
                    tenant=job.tenant,
                    stream_id=stream_id(*key),
                    stream_version=call.version + offset,
                    correlation_id=job.call_id,
                    subject=job.call_id,
                    time=now,
                )
            )
        known[key] = _Call(call.version + len(events), after, call.stored)
        return Decided(call.state, events, after)

    async def _load(self, conn: AsyncConnection, job: _Job, row: queries.CallRow | None) -> _Call:
        if row is not None:
            snapshot = row.snapshot
            flow = await self.flows.get(
                conn, job.tenant, snapshot["flow_id"], snapshot["flow_version"]
            )
            return _Call(row.stream_version, CallState.from_snapshot(flow, snapshot), True)
        if not isinstance(job.command, StartCall):
            raise CallNotFound(f"call {job.call_id!r} does not exist")
        command = job.command
        flow = await self.flows.get(conn, job.tenant, command.flow_id, command.flow_version)
        return _Call(0, CallState(flow=flow), False)

    async def _save(
        self, conn: AsyncConnection, known: dict[tuple[str, str], _Call], now: datetime
    ) -> None:
        at = format_time(now)
        rows = [
            {
                "k_tenant": tenant,
                "k_call_id": call_id,
                "stream_version": call.version,
                "status": call.state.status,
                "snapshot": call.state.snapshot(),
                "updated_at": at,
            }
            for (tenant, call_id), call in known.items()
            if call.version > 0
        ]
        new = [row for row, call in zip(rows, _started(known), strict=True) if not call.stored]
        old = [row for row, call in zip(rows, _started(known), strict=True) if call.stored]
        if new:
            await conn.execute(
                calls.insert(),
                [
                    {"tenant": row["k_tenant"], "call_id": row["k_call_id"], **_values(row)}
                    for row in new
                ],
            )
        if old:
            statement = (
                update(calls)
                .where(
                    calls.c.tenant == bindparam("k_tenant"),
                    calls.c.call_id == bindparam("k_call_id"),
                )
                .values(
                    stream_version=bindparam("stream_version"),
                    status=bindparam("status"),
                    snapshot=bindparam("snapshot"),
                    updated_at=bindparam("updated_at"),
                )
            )
            await conn.execute(statement, old)


def _started(known: dict[tuple[str, str], _Call]) -> list[_Call]:
    return [call for call in known.values() if call.version > 0]


def _values(row: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in row.items() if not key.startswith("k_")}
