"""The single writer of calls: decides commands in batches, one transaction per batch.

Commits are the costly part (decision 0002), so requests wait in a queue and the
desk takes everything waiting, decides each command against its call's state
(in order, a call's commands seeing the previous ones), appends all the events
in one transaction, updates the calls' snapshots, and only then answers. The
batch's transaction is one plain function (``Database.run_transaction``): on
SQLite it runs on the writer's thread at one go.
The same transaction records the requests' Idempotency-Keys with their answers
and the calls' deadlines (written at start, deleted at the end: the reaper's).
It also reads what the requests need besides the call (a request's own read
transaction would cost as much as its share of the batch): the tenant's
recording settings for a start, whether a survey asks on the call for an input.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.catalogue import Event
from callcenter.events.db import Database, driver_sql, json_text
from callcenter.events.envelope import Envelope, format_time, new_envelope
from callcenter.ivr.domain.engine import CallState, Command, StartCall, decide_and_evolve
from callcenter.ivr.domain.flow import Flow
from callcenter.ivr.domain.instructions import Answer, Instruction, answer, instructions
from callcenter.ivr.recordings import RecordingSettings, load_settings_sync
from callcenter.ivr.store import queries

log = logging.getLogger(__name__)


class CallNotFound(LookupError):
    pass


class FlowMissing(LookupError):
    pass


class KeyReused(ValueError):
    """An Idempotency-Key already used for another request."""


class KeyInProgress(RuntimeError):
    """The first request with this Idempotency-Key has not finished (a data dip)."""


class SurveyAsks(RuntimeError):
    """A survey asks on this call (or answered this Idempotency-Key): the keys are its."""


def stream_id(tenant: str, call_id: str) -> str:
    return f"ivr.call:{tenant}:{call_id}"


class FlowCache:
    """Published flow versions are immutable: parse each once. Used from the event
    loop and from the database writer's thread."""

    def __init__(self, size: int = 1024) -> None:
        self._flows: OrderedDict[tuple[str, str, int], Flow] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    async def get(self, conn: AsyncConnection, tenant: str, flow_id: str, version: int) -> Flow:
        return await conn.run_sync(self.get_sync, tenant, flow_id, version)

    def get_sync(self, conn: Connection, tenant: str, flow_id: str, version: int) -> Flow:
        key = (tenant, flow_id, version)
        with self._lock:
            if (flow := self._flows.get(key)) is not None:
                self._flows.move_to_end(key)
                return flow
        stored = queries.flow_version_sync(conn, tenant, flow_id, version)
        if stored is None:
            raise FlowMissing(f"flow {flow_id!r} version {version} does not exist")
        flow = Flow.model_validate(stored.document)
        with self._lock:
            self._flows[key] = flow
            if len(self._flows) > self._size:
                self._flows.popitem(last=False)
        return flow


@dataclass(frozen=True)
class Decided:
    before: CallState
    events: list[Event]
    after: CallState
    said: list[Instruction]
    recording: RecordingSettings | None = None  # the tenant's, for a start


@dataclass(frozen=True)
class Replayed:
    """The key's request was done before: its answer, and nothing decided."""

    answer: Answer
    recording: RecordingSettings | None = None  # the tenant's, for a start


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key: its first decision records the key, its last the answer."""

    key: str
    fingerprint: str
    first: bool = True
    said: tuple[Instruction, ...] = ()  # what the request's earlier decisions said


Outcome = Decided | Replayed | Exception


@dataclass
class _Job:
    tenant: str
    call_id: str
    command: Command
    idempotency: Idempotency | None
    survey: bool  # a survey asking on the call takes the input (SurveyAsks)
    future: asyncio.Future[Decided | Replayed] = field(repr=False)


@dataclass
class _Key:
    call_id: str
    fingerprint: str
    answer: dict[str, object] | None
    new: bool = False  # first used in this batch
    finished: bool = False  # its answer found in this batch


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
        max_age: float = 4 * 3600,
    ) -> None:
        self.db = db
        self.max_age = max_age
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

    async def submit(
        self,
        tenant: str,
        call_id: str,
        command: Command,
        idempotency: Idempotency | None = None,
        *,
        survey: bool = False,
    ) -> Decided | Replayed:
        """Decide ``command``; with ``survey``, raise ``SurveyAsks`` instead when a survey
        asks on the call. A start's outcome carries the tenant's recording settings."""
        future: asyncio.Future[Decided | Replayed] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(tenant, call_id, command, idempotency, survey, future))
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
            except (store.ConcurrencyError, IntegrityError):
                # Another replica wrote one of these calls (or used one of these keys):
                # forget what we hold, read again.
                self._live.clear()
                outcomes = await self._attempt(batch)
        except Exception as error:
            log.exception("a batch of %d call commands failed", len(batch))
            outcomes = [error] * len(batch)
        self._answer(batch, outcomes)

    async def _attempt(self, batch: list[_Job]) -> list[Outcome]:
        now = datetime.now(UTC)
        outcomes: list[Outcome] = []
        known: dict[tuple[str, str], _Call] = {}
        envelopes: list[Envelope] = []

        def transaction(conn: Connection) -> None:
            stored = self._read_calls(conn, batch)
            keys = self._read_keys(conn, batch)
            asking = self._read_surveys(conn, batch)
            settings = self._read_settings(conn, batch)
            for job in batch:
                if (job.tenant, job.call_id) in asking:
                    outcome: Outcome = SurveyAsks(f"a survey asks on call {job.call_id!r}")
                else:
                    outcome = self._keyed(conn, job, stored, keys, known, envelopes, now)
                if isinstance(job.command, StartCall) and not isinstance(outcome, Exception):
                    outcome = replace(outcome, recording=settings[job.tenant])
                outcomes.append(outcome)
            store.append_sync(conn, envelopes)
            self._save(conn, known, now)
            self._save_keys(conn, keys, now)

        await self.db.run_transaction(transaction)
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

    def _read_calls(
        self, conn: Connection, batch: list[_Job]
    ) -> dict[tuple[str, str], queries.CallRow]:
        """The stored calls of the batch not in memory, one query per tenant."""
        missing: dict[str, set[str]] = {}
        for job in batch:
            if (job.tenant, job.call_id) not in self._live:
                missing.setdefault(job.tenant, set()).add(job.call_id)
        stored: dict[tuple[str, str], queries.CallRow] = {}
        for tenant, call_ids in missing.items():
            for call_id, version, snapshot in _rows_in(conn, _SELECT_CALLS, tenant, call_ids):
                stored[(tenant, call_id)] = queries.CallRow(version, orjson.loads(snapshot))
        return stored

    def _read_keys(self, conn: Connection, batch: list[_Job]) -> dict[tuple[str, str], _Key]:
        wanted: dict[str, set[str]] = {}
        for job in batch:
            if job.idempotency is not None:
                wanted.setdefault(job.tenant, set()).add(job.idempotency.key)
        found: dict[tuple[str, str], _Key] = {}
        for tenant, names in wanted.items():
            for name, call_id, fingerprint, said in _rows_in(conn, _SELECT_KEYS, tenant, names):
                found[(tenant, name)] = _Key(call_id, fingerprint, _json(said))
        return found

    def _read_surveys(self, conn: Connection, batch: list[_Job]) -> set[tuple[str, str]]:
        """The batch's calls (of jobs that ask) on which a survey asks, one query per tenant."""
        wanted: dict[str, set[str]] = {}
        for job in batch:
            if job.survey:
                wanted.setdefault(job.tenant, set()).add(job.call_id)
        asking: set[tuple[str, str]] = set()
        for tenant, call_ids in wanted.items():
            rows = _rows_in(conn, _SELECT_ASKING, tenant, call_ids)
            asking.update((tenant, answer_id) for (answer_id,) in rows)
        return asking

    def _read_settings(self, conn: Connection, batch: list[_Job]) -> dict[str, RecordingSettings]:
        """The recording settings of the tenants starting calls in this batch."""
        tenants = {job.tenant for job in batch if isinstance(job.command, StartCall)}
        return {tenant: load_settings_sync(conn, tenant) for tenant in tenants}

    def _keyed(
        self,
        conn: Connection,
        job: _Job,
        stored: dict[tuple[str, str], queries.CallRow],
        keys: dict[tuple[str, str], _Key],
        known: dict[tuple[str, str], _Call],
        envelopes: list[Envelope],
        now: datetime,
    ) -> Outcome:
        """``_decide``, unless the job's Idempotency-Key says it was done already."""
        keyed = job.idempotency
        seen = keys.get((job.tenant, keyed.key)) if keyed else None
        if keyed is not None and keyed.first and seen is not None:
            if seen.fingerprint != keyed.fingerprint:
                return KeyReused(f"Idempotency-Key {keyed.key!r} was used for another request")
            if seen.answer is None:
                return KeyInProgress(f"the request with Idempotency-Key {keyed.key!r} goes on")
            if "survey" in seen.answer:
                return SurveyAsks(f"Idempotency-Key {keyed.key!r} answered a survey")
            return Replayed(Answer.model_validate(seen.answer))
        decided = self._decide(conn, job, stored, known, envelopes, now)
        if keyed is None or isinstance(decided, Exception):
            return decided
        final = None
        if decided.after.awaiting != "dip":  # else the request goes on after the dip
            final = answer(decided.after, [*keyed.said, *decided.said]).model_dump(mode="json")
        if seen is None:
            keys[(job.tenant, keyed.key)] = _Key(
                job.call_id, keyed.fingerprint, final, new=True, finished=final is not None
            )
        else:
            seen.answer, seen.finished = final, final is not None
        return decided

    def _answer(self, batch: list[_Job], outcomes: list[Outcome]) -> None:
        for job, outcome in zip(batch, outcomes, strict=True):
            if job.future.done():
                continue  # the caller went away
            if isinstance(outcome, Exception):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    def _decide(
        self,
        conn: Connection,
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
                call = self._load(conn, job, stored.get(key))
        except (CallNotFound, FlowMissing) as error:
            return error
        try:
            decision = decide_and_evolve(job.command, call.state, now)
        except Exception as error:  # noqa: BLE001 - a rejected command leaves the batch intact
            return error
        events, after = decision.events, decision.after
        for offset, event in enumerate(events, start=1):
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
        return Decided(call.state, events, after, instructions(decision))

    def _load(self, conn: Connection, job: _Job, row: queries.CallRow | None) -> _Call:
        if row is not None:
            snapshot = row.snapshot
            flow = self.flows.get_sync(
                conn, job.tenant, snapshot["flow_id"], snapshot["flow_version"]
            )
            return _Call(row.stream_version, CallState.from_snapshot(flow, snapshot), True)
        if not isinstance(job.command, StartCall):
            raise CallNotFound(f"call {job.call_id!r} does not exist")
        command = job.command
        flow = self.flows.get_sync(conn, job.tenant, command.flow_id, command.flow_version)
        return _Call(0, CallState(flow=flow), False)

    def _save(self, conn: Connection, known: dict[tuple[str, str], _Call], now: datetime) -> None:
        at = format_time(now)
        new, old = [], []
        for (tenant, call_id), call in known.items():
            if call.version == 0:
                continue  # its start was refused
            state = call.state
            values = (call.version, state.status, json_text(state.snapshot()), at)
            if call.stored:
                old.append((*values, tenant, call_id))
            else:
                new.append((tenant, call_id, *values))
        if new:
            conn.exec_driver_sql(driver_sql(conn, _INSERT_CALL), new)
        if old:
            conn.exec_driver_sql(driver_sql(conn, _UPDATE_CALL), old)
        self._save_deadlines(conn, known, now)

    def _save_deadlines(
        self, conn: Connection, known: dict[tuple[str, str], _Call], now: datetime
    ) -> None:
        """A started call gets its deadline; an ended call loses it (the reaper's too)."""
        due_at = now.timestamp() + self.max_age
        started = [
            (tenant, call_id, due_at)
            for (tenant, call_id), call in known.items()
            if call.version > 0 and not call.stored and call.state.status != "ended"
        ]
        ended = [
            (tenant, call_id)
            for (tenant, call_id), call in known.items()
            if call.stored and call.state.status == "ended"
        ]
        if started:
            conn.exec_driver_sql(driver_sql(conn, _INSERT_DEADLINE), started)
        if ended:
            conn.exec_driver_sql(driver_sql(conn, _DELETE_DEADLINE), ended)

    def _save_keys(
        self, conn: Connection, keys: dict[tuple[str, str], _Key], now: datetime
    ) -> None:
        created = now.timestamp()
        new = [
            (tenant, name, key.call_id, key.fingerprint, json_text(key.answer), created)
            for (tenant, name), key in keys.items()
            if key.new
        ]
        finished = [
            (json_text(key.answer), tenant, name)
            for (tenant, name), key in keys.items()
            if key.finished and not key.new
        ]
        if new:
            conn.exec_driver_sql(driver_sql(conn, _INSERT_KEY), new)
        if finished:
            conn.exec_driver_sql(driver_sql(conn, _ANSWER_KEY), finished)


# A batch's statements, run as the driver takes them (db.driver_sql: SQLAlchemy Core's
# statements cost the batch three times as much): JSON as its text, a key's answer JSON
# null while its request goes on (a data dip), as SQLAlchemy wrote it. The reads end
# with the list of the batch's calls or keys, ``IN ({})`` (_rows_in).
_SELECT_CALLS = (
    "SELECT call_id, stream_version, CAST(snapshot AS TEXT) FROM ivr_calls"
    " WHERE tenant = ? AND call_id IN ({})"
)
_SELECT_KEYS = (
    'SELECT "key", call_id, fingerprint, CAST(answer AS TEXT) FROM ivr_idempotency'
    ' WHERE tenant = ? AND "key" IN ({})'
)
_SELECT_ASKING = (
    "SELECT answer_id FROM ivr_surveys WHERE tenant = ? AND status = 'asking' AND answer_id IN ({})"
)
_INSERT_CALL = (
    "INSERT INTO ivr_calls (tenant, call_id, stream_version, status, snapshot, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_CALL = (
    "UPDATE ivr_calls SET stream_version = ?, status = ?, snapshot = ?, updated_at = ?"
    " WHERE tenant = ? AND call_id = ?"
)
_INSERT_DEADLINE = "INSERT INTO ivr_call_deadlines (tenant, call_id, due_at) VALUES (?, ?, ?)"
_DELETE_DEADLINE = "DELETE FROM ivr_call_deadlines WHERE tenant = ? AND call_id = ?"
_INSERT_KEY = (
    'INSERT INTO ivr_idempotency (tenant, "key", call_id, fingerprint, answer, created_at)'
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_ANSWER_KEY = 'UPDATE ivr_idempotency SET answer = ? WHERE tenant = ? AND "key" = ?'


def _rows_in(conn: Connection, statement: str, tenant: str, values: Collection[str]) -> Any:
    """The rows ``statement`` reads for ``tenant`` and each of ``values``."""
    listed = statement.format(", ".join("?" * len(values)))
    return conn.exec_driver_sql(driver_sql(conn, listed), (tenant, *values))


def _json(text: str | None) -> Any:
    """A JSON column's value (SQL NULL: None, as SQLAlchemy reads it)."""
    return None if text is None else orjson.loads(text)
