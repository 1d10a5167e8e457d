"""The shell around the decider: load a ticket's stream, decide, append the events
and update the read model in one transaction; tick due deadlines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.aio import sleep_or_stop
from callcenter.events.catalogue import Event
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope, format_time
from callcenter.workorders.domain.commands import Absorb, Act, Command, Open, Tick
from callcenter.workorders.domain.config import TicketType, default_types
from callcenter.workorders.domain.decide import decide
from callcenter.workorders.domain.errors import InvalidValue, NoSuchTicket, TicketError
from callcenter.workorders.domain.ticket import Ticket, evolve
from callcenter.workorders.store import search
from callcenter.workorders.store.tables import ticket_types, tickets
from callcenter.workorders.types import type_from_json

log = logging.getLogger(__name__)
SOURCE = "callcenter.workorders"
RETRIES = 5


def stream_id(ticket_id: str) -> str:
    return f"ticket:{ticket_id}"


def sla_state(ticket: Ticket) -> str:
    clocks = ticket.clocks.values()
    if not clocks:
        return "none"
    if any(clock.breached for clock in clocks):
        return "breached"
    if any(clock.warned for clock in clocks):
        return "warning"
    return "ok"


async def load(
    conn: AsyncConnection, tenant: str, ticket_id: str
) -> tuple[Ticket, int, list[Envelope]]:
    """The ticket, its stream version and its history; another tenant's ticket is absent."""
    history = await store.read_stream(conn, stream_id(ticket_id))
    if history and history[0].tenant != tenant:
        return Ticket(id=ticket_id), 0, []
    ticket = Ticket(id=ticket_id)
    for envelope in history:
        ticket = evolve(ticket, envelope.data)
    return ticket, len(history), history


async def apply(
    conn: AsyncConnection,
    tenant: str,
    ticket_id: str,
    command: Command,
    now: datetime,
    *,
    correlation_id: str,
    causation_id: str | None = None,
) -> tuple[Ticket, list[Event], int]:
    """Decide ``command`` and record its events, in the caller's transaction.

    Returns the ticket after them, the events, and the stream's version."""
    ticket, version, history = await load(conn, tenant, ticket_id)
    if version == 0 and await store.stream_version(conn, stream_id(ticket_id)):
        # another tenant's ticket: it does not exist for this one, and its id is taken
        if isinstance(command, Open):
            raise TicketError(f"ticket id {ticket_id} is taken")
        raise NoSuchTicket(f"ticket {ticket_id} does not exist")
    events = decide(command, ticket, now)
    if not events:
        return ticket, [], version
    before = ticket
    for event in events:
        ticket = evolve(ticket, event)
    await store.append_to_stream(
        conn, stream_id(ticket_id), version, events, source=SOURCE, tenant=tenant,
        correlation_id=history[0].correlation_id if history else correlation_id,
        causation_id=causation_id, subject=ticket_id,
    )  # fmt: skip
    await _save_row(conn, tenant, ticket, version + len(events), is_new=version == 0,
                    texts_changed=_texts(ticket) != _texts(before))  # fmt: skip
    return ticket, events, version + len(events)


async def apply_with_links(
    conn: AsyncConnection,
    tenant: str,
    ticket_id: str,
    command: Command,
    now: datetime,
    *,
    correlation_id: str,
) -> tuple[Ticket, list[Event], int]:
    """``apply``, and for a merge also record it on the surviving ticket, in the
    same transaction (both or neither)."""
    result = await apply(conn, tenant, ticket_id, command, now, correlation_id=correlation_id)
    if isinstance(command, Act) and command.action == "merge" and command.into:
        merged = result[0]
        absorb = Absorb(merged_ticket_id=ticket_id, by=command.by,
                        follow_ups=merged.follow_ups, notes=merged.notes)  # fmt: skip
        try:
            await apply(conn, tenant, command.into, absorb, now, correlation_id=correlation_id)
        except NoSuchTicket:
            raise InvalidValue("into", f"ticket {command.into} does not exist") from None
    return result


def _texts(ticket: Ticket) -> tuple[str, str, tuple[str, ...]]:
    return ticket.title, ticket.description, ticket.notes


async def _save_row(
    conn: AsyncConnection,
    tenant: str,
    ticket: Ticket,
    version: int,
    *,
    is_new: bool,
    texts_changed: bool,
) -> None:
    """The ticket's row of the list, and its searchable texts when they changed."""
    deadline = ticket.next_deadline()
    values: dict[str, Any] = {
        "type": ticket.type,
        "status": ticket.status,
        "priority": ticket.priority,
        "title": ticket.title,
        "customer_id": ticket.customer_id,
        "call_id": ticket.call_id,
        "assignee": ticket.assignee,
        "sla_state": sla_state(ticket),
        "breached": ticket.breached,
        "next_deadline": format_time(deadline) if deadline else None,
        "updated_at": format_time(ticket.updated_at or datetime.now(UTC)),
        "version": version,
    }
    if is_new:
        assert ticket.opened_at is not None
        statement = tickets.insert().values(
            tenant=tenant, ticket_id=ticket.id, opened_at=format_time(ticket.opened_at), **values
        )
    else:
        statement = (
            tickets.update()
            .where(tickets.c.tenant == tenant, tickets.c.ticket_id == ticket.id)
            .values(**values)
        )
    position = await conn.scalar(statement.returning(tickets.c.position))
    if texts_changed:
        await store.upsert(conn, search.ticket_texts, {"position": position}, {
            "title": search.indexable(ticket.title),
            "description": search.indexable(ticket.description),
            "notes": search.indexable("\n".join(ticket.notes)),
        })  # fmt: skip


# Filters whose index leaves a handful of a tenant's tickets (a customer's, an agent's).
FEW_PER_VALUE = ("customer_id", "assignee")


def list_query(
    tenant: str,
    filters: dict[str, str | None],
    *,
    dialect: str,
    breached: bool | None = None,
    text: str | None = None,
    before: int | None = None,
    limit: int = 50,
    narrowed: bool = False,
) -> Select[Any]:
    """Tickets of a tenant, newest first, matching every filter given and, with
    ``text``, holding each of its words in the title, description or notes
    (``narrowed``: see ``search.search``)."""
    query = select(tickets).where(tickets.c.tenant == tenant)
    for column, value in filters.items():
        if value is not None:
            query = query.where(tickets.c[column] == value)
    if breached is not None:
        query = query.where(tickets.c.breached == breached)
    if text is not None:
        words = search.query_words(text)
        return search.search(query, dialect, words, before, narrowed=narrowed).limit(limit)
    if before is not None:
        query = query.where(tickets.c.position < before)
    return query.order_by(tickets.c.position.desc()).limit(limit)


async def list_page(
    conn: AsyncConnection,
    tenant: str,
    filters: dict[str, str | None],
    *,
    breached: bool | None = None,
    text: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Row[Any]]:
    """Run the list's query (see ``list_query``), choosing how a search is walked."""
    dialect = conn.dialect.name
    narrowed = (
        text is not None
        and dialect == "sqlite"
        and any(filters.get(column) is not None for column in FEW_PER_VALUE)
        and await search.common(conn, search.query_words(text))
    )
    query = list_query(tenant, filters, dialect=dialect, breached=breached, text=text,
                       before=before, limit=limit, narrowed=narrowed)  # fmt: skip
    return list(await conn.execute(query))


async def ticket_type(conn: AsyncConnection, tenant: str, name: str) -> TicketType | None:
    row = await conn.scalar(
        select(ticket_types.c.definition).where(
            ticket_types.c.tenant == tenant, ticket_types.c.name == name
        )
    )
    if row is not None:
        return type_from_json(name, row)
    return default_types().get(name)


class Tickets:
    """Commands over HTTP and the timer loop, each in its own transaction."""

    def __init__(
        self,
        db: Database,
        *,
        on_commit: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.on_commit = on_commit
        self.clock = clock
        self.tick_seconds = tick_seconds

    async def execute(
        self, tenant: str, ticket_id: str, command: Command, *, correlation_id: str | None = None
    ) -> tuple[Ticket, list[Event], int]:
        for attempt in range(RETRIES):
            try:
                async with self.db.transaction() as conn:
                    result = await apply_with_links(
                        conn, tenant, ticket_id, command, self.clock(),
                        correlation_id=correlation_id or ticket_id,
                    )  # fmt: skip
            except store.ConcurrencyError:
                if attempt == RETRIES - 1:
                    raise
                continue
            if result[1]:
                self.on_commit()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def due(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """Tickets with a deadline at or before ``now`` (the index the timer loop polls)."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(tickets.c.tenant, tickets.c.ticket_id)
                .where(tickets.c.next_deadline <= format_time(now))
                .order_by(tickets.c.next_deadline)
                .limit(limit)
            )
            return [(row.tenant, row.ticket_id) for row in rows]

    async def tick_due(self) -> int:
        """Fire every due deadline once; returns how many tickets changed."""
        fired = 0
        for tenant, ticket_id in await self.due(self.clock()):
            _, events, _ = await self.execute(tenant, ticket_id, Tick())
            fired += bool(events)
        return fired

    async def tick_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick_due()
            except Exception as error:  # noqa: BLE001 - the loop must outlive a bad tick
                log.warning("ticking due tickets failed: %s", error)
            await sleep_or_stop(stop, self.tick_seconds)


async def rebuild_read_model(db: Database, batch: int = 5_000) -> int:
    """Recompute every row of ``workorders_tickets`` from the ticket streams (after a
    schema change, or to repair); one transaction, so readers see old or new."""
    built: dict[str, tuple[str, Ticket, int]] = {}
    async with db.transaction() as conn:
        after = 0
        while rows := await store.read_all(conn, after, limit=batch):
            for row in rows:
                after = row.position
                if not row.stream_id.startswith("ticket:"):
                    continue
                envelope = row.envelope()
                tenant, ticket, version = built.get(row.stream_id, (envelope.tenant, Ticket(), 0))
                built[row.stream_id] = (tenant, evolve(ticket, envelope.data), version + 1)
        await conn.execute(search.ticket_texts.delete())
        await conn.execute(tickets.delete())
        for tenant, ticket, version in built.values():
            await _save_row(conn, tenant, ticket, version, is_new=True, texts_changed=True)
    return len(built)
