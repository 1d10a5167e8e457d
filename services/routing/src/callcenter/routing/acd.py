"""The ACD's imperative shell: one writer deciding every command, group-committed.

Each tenant's state is the projection of its own stream (``tenant:<id>``) in
routing's event store, loaded from its latest snapshot plus the tail. One
writer task takes every command waiting (from the HTTP API, the timer and the
inbox), decides them in order, and appends all their events in one transaction
with the inbox rows it consumed and any snapshot due; then it answers the
callers. If that transaction fails, the tenants it touched are reloaded from
the store (their in-memory state ran ahead) and the callers get the error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.catalogue import routing as ev
from callcenter.events.db import Database
from callcenter.events.envelope import format_time, new_envelope
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.errors import RoutingError
from callcenter.routing.domain.snapshot import from_snapshot, snapshot_bytes
from callcenter.routing.domain.state import RoutingState, evolve
from callcenter.routing.store.tables import inbox, snapshots

log = logging.getLogger(__name__)

SOURCE = "callcenter/routing"
Clock = Callable[[], datetime]


def stream_of(tenant: str) -> str:
    return f"tenant:{tenant}"


def utcnow() -> datetime:
    return datetime.now(UTC)


# Commands that arrive through the inbox travel as JSON.
INBOX_COMMANDS: dict[str, type] = {
    "EnqueueCall": cmd.EnqueueCall,
    "HangUp": cmd.HangUp,
    "RequestCallback": cmd.RequestCallback,
    "IdentifyCustomer": cmd.IdentifyCustomer,
    "ReportOutbound": cmd.ReportOutbound,
    "ApplyScreening": cmd.ApplyScreening,
}
# The routing consumers say when they filled the inbox (``inbox_filled``); reading it
# this often anyway is a safety net, not the path commands take.
INBOX_POLL_SECONDS = 1.0
CAMPAIGN_TICK_SECONDS = 5.0  # a running campaign's dialer looks again (calling windows open)


def command_json(command: cmd.Command) -> dict[str, Any]:
    return {"type": type(command).__name__, **dataclasses.asdict(command)}


def command_from_json(data: dict[str, Any]) -> cmd.Command:
    fields = dict(data)
    return INBOX_COMMANDS[fields.pop("type")](**fields)


@dataclass
class Tenant:
    state: RoutingState
    version: int  # the stream version the state reflects (stored or about to be)
    snapshot_version: int


@dataclass
class _Request:
    tenant: str
    command: cmd.Command
    correlation_id: str
    causation_id: str | None
    inbox_position: int | None = None
    reply: asyncio.Future[list[ev.RoutingEvent]] | None = None
    events: list[ev.RoutingEvent] = field(default_factory=list)


class Acd:
    def __init__(
        self,
        db: Database,
        *,
        on_commit: Callable[[], None] = lambda: None,
        clock: Clock = utcnow,
        snapshot_every: int = 1000,
        max_batch: int = 500,
    ) -> None:
        self.db = db
        self.on_commit = on_commit
        self.clock = clock
        self.snapshot_every = snapshot_every
        self.max_batch = max_batch
        self.tenants: dict[str, Tenant] = {}
        # None wakes the writer: the inbox was filled, or it stops.
        self._pending: asyncio.Queue[_Request | None] = asyncio.Queue()
        self._inbox_waiting = asyncio.Event()
        self._inbox_waiting.set()  # rows may wait from before a restart
        self._inbox_read_at = 0.0

    # -- what the API and the consumers call ------------------------------------------

    async def execute(
        self,
        tenant: str,
        command: cmd.Command,
        *,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> list[ev.RoutingEvent]:
        """Decide a command (queued behind the others) and return its events once stored."""
        reply: asyncio.Future[list[ev.RoutingEvent]] = asyncio.get_running_loop().create_future()
        await self._pending.put(
            _Request(tenant, command, correlation_id, causation_id, reply=reply)
        )
        return await reply

    async def state(self, tenant: str) -> RoutingState:
        """The tenant's current state, for reading only."""
        return (await self._tenant(tenant)).state

    def inbox_filled(self) -> None:
        """A consumer committed commands to the inbox (its ``on_commit``)."""
        if not self._inbox_waiting.is_set():
            self._inbox_waiting.set()
            self._pending.put_nowait(None)

    # -- the writer ---------------------------------------------------------------------

    async def load_all(self) -> None:
        """Load every tenant the store knows, so that their timers run."""
        async with self.db.read() as conn:
            streams = await conn.scalars(
                select(store.events.c.stream_id)
                .where(store.events.c.stream_id.like("tenant:%"))
                .distinct()
            )
            names = [stream.removeprefix("tenant:") for stream in streams]
        for name in names:
            await self._tenant(name)

    async def run(self, stop: asyncio.Event) -> None:
        """Decide and store commands until ``stop``; then finish what is queued."""
        await self.load_all()
        waker = asyncio.create_task(self._wake_on(stop))
        try:
            while not stop.is_set() or not self._pending.empty():
                requests = await self._next_batch(stop)
                if requests:
                    await self._commit(requests)
        finally:
            waker.cancel()

    async def tick_loop(self, stop: asyncio.Event, interval: float = 0.25) -> None:
        """Time passes: tenants with a deadline due get a ``Tick``."""
        campaign_ticks: dict[str, datetime] = {}
        while not stop.is_set():
            now = self.clock()
            due = [
                name
                for name, tenant in self.tenants.items()
                if (deadline := tenant.state.next_deadline()) is not None and deadline <= now
            ]
            for name, tenant in self.tenants.items():
                last = campaign_ticks.get(name)
                if name not in due and (
                    any(c.status == "running" for c in tenant.state.campaigns.values())
                    and (last is None or (now - last).total_seconds() >= CAMPAIGN_TICK_SECONDS)
                ):
                    due.append(name)
                    campaign_ticks[name] = now
            for name in due:
                await self._pending.put(_Request(name, cmd.Tick(), f"timers:{name}", None))
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass

    async def _next_batch(self, stop: asyncio.Event) -> list[_Request]:
        """The inbox's commands when a consumer filled it (and every
        ``INBOX_POLL_SECONDS`` anyway), else what the API and the timers queued."""
        due = self._inbox_waiting.is_set() or (
            asyncio.get_running_loop().time() - self._inbox_read_at >= INBOX_POLL_SECONDS
        )
        requests = await self._inbox_requests() if due else []
        if not requests:
            try:
                first = await asyncio.wait_for(self._pending.get(), INBOX_POLL_SECONDS)
            except TimeoutError:
                return await self._inbox_requests()
            if first is None:  # woken: the inbox was filled, or the ACD stops
                return await self._inbox_requests()
            requests.append(first)
        while len(requests) < self.max_batch and not self._pending.empty():
            if (request := self._pending.get_nowait()) is not None:
                requests.append(request)
        return requests

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._pending.put_nowait(None)

    async def _inbox_requests(self) -> list[_Request]:
        self._inbox_waiting.clear()
        self._inbox_read_at = asyncio.get_running_loop().time()
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(inbox).order_by(inbox.c.position).limit(self.max_batch)
            )
            requests = [
                _Request(
                    row.tenant,
                    command_from_json(row.command),
                    row.correlation_id,
                    row.event_id,
                    inbox_position=row.position,
                )
                for row in rows
            ]
        if len(requests) == self.max_batch:
            self._inbox_waiting.set()  # more may wait: read again next
        return requests

    async def _commit(self, requests: list[_Request]) -> None:
        now = self.clock()
        touched: dict[str, Tenant] = {}
        decided: list[_Request] = []
        for request in requests:
            try:
                tenant = await self._tenant(request.tenant)
            except Exception as error:  # noqa: BLE001 - one tenant's trouble is not the batch's
                _fail(request, error)
                continue
            touched[request.tenant] = tenant
            try:
                request.events = decide(request.command, tenant.state, now)
            except RoutingError as error:
                if request.reply is None:  # from the inbox: nothing to answer, log why
                    log.info("inbox command %s refused: %s", request.command, error.detail)
                _fail(request, error)
            decided.append(request)
        try:
            async with self.db.transaction() as conn:
                for name, tenant in touched.items():
                    await self._append(conn, name, tenant, [r for r in decided if r.tenant == name])
                consumed = [r.inbox_position for r in decided if r.inbox_position is not None]
                if consumed:
                    await conn.execute(delete(inbox).where(inbox.c.position.in_(consumed)))
                for name, tenant in touched.items():
                    await self._maybe_snapshot(conn, name, tenant, now)
        except Exception as error:
            log.exception("the ACD could not store its decisions; reloading %s", sorted(touched))
            for name in touched:
                self.tenants.pop(name, None)
            for request in decided:
                _fail(request, error)
            return
        if any(request.events for request in decided):
            self.on_commit()
        for request in decided:
            if request.reply is not None and not request.reply.done():
                request.reply.set_result(request.events)

    async def _append(
        self, conn: AsyncConnection, name: str, tenant: Tenant, requests: list[_Request]
    ) -> None:
        envelopes = []
        version = tenant.version
        for request in requests:
            for event in request.events:
                version += 1
                envelopes.append(
                    new_envelope(
                        event,
                        source=SOURCE,
                        tenant=name,
                        stream_id=stream_of(name),
                        stream_version=version,
                        correlation_id=_correlation(event, request.correlation_id),
                        causation_id=request.causation_id,
                        subject=getattr(event, "call_id", None) or getattr(event, "agent_id", None),
                        time=event.at,
                    )
                )
        await store.append(conn, envelopes)
        tenant.version = version

    async def _maybe_snapshot(
        self, conn: AsyncConnection, name: str, tenant: Tenant, now: datetime
    ) -> None:
        if tenant.version - tenant.snapshot_version < self.snapshot_every:
            return
        values = {
            "version": tenant.version,
            "state": snapshot_bytes(tenant.state).decode(),
            "taken_at": format_time(now),
        }
        await store.upsert(conn, snapshots, {"tenant": name}, values)
        tenant.snapshot_version = tenant.version

    async def _tenant(self, name: str) -> Tenant:
        tenant = self.tenants.get(name)
        if tenant is None:
            tenant = self.tenants[name] = await self._load(name)
        return tenant

    async def _load(self, name: str) -> Tenant:
        """Latest snapshot, then every later event of the tenant's stream."""
        async with self.db.read() as conn:
            row = (await conn.execute(select(snapshots).where(snapshots.c.tenant == name))).first()
            state = from_snapshot(json.loads(row.state)) if row else RoutingState()
            version = row.version if row else 0
            for envelope in await store.read_stream(conn, stream_of(name), version):
                evolve(state, envelope.data)
                version = envelope.stream_version
        return Tenant(state, version, row.version if row else 0)


def _fail(request: _Request, error: Exception) -> None:
    request.events = []
    if request.reply is not None and not request.reply.done():
        request.reply.set_exception(error)


def _correlation(event: ev.RoutingEvent, default: str) -> str:
    """Anything about a call correlates to the call."""
    return getattr(event, "call_id", None) or default
