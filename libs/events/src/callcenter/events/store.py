"""The event store, the relay's and the consumers' bookkeeping tables.

Every service's database holds these tables beside its own read models, so
that events, read-model changes and checkpoints commit in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from callcenter.events.catalogue import Event
from callcenter.events.codec import decode
from callcenter.events.db import driver_sql
from callcenter.events.envelope import Envelope, format_time, new_envelope

metadata = MetaData()

Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("stream_id", String(200), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("source", String(200), nullable=False),
    Column("subject", String(200)),
    Column("tenant", String(100), nullable=False),
    Column("correlation_id", String(200), nullable=False),
    Column("causation_id", String(200)),
    Column("time", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
    sqlite_autoincrement=True,
)

relay_checkpoints = Table(
    "relay_checkpoints",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("position", Position, nullable=False),
)

relay_anchors = Table(
    "relay_anchors",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
)

consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("anchor_event_id", String(64), nullable=False),
)

consumer_streams = Table(
    "consumer_streams",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("stream_id", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
)

# Every service's event store serializes its appends on this lock (PostgreSQL).
APPEND_LOCK_KEY = 0x43414C4C  # "CALL"


class ConcurrencyError(Exception):
    """Somebody else appended to the stream first: reload and decide again."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        found = "another writer's event" if actual is None else f"version {actual}"
        super().__init__(f"stream {stream_id!r}: expected version {expected}, found {found}")


@dataclass(frozen=True)
class StoredEvent:
    """A row of the store: its position, its CloudEvents attributes and raw data."""

    position: int
    attributes: dict[str, str]
    data: dict[str, Any]

    @property
    def event_id(self) -> str:
        return self.attributes["id"]

    @property
    def stream_id(self) -> str:
        return self.attributes["streamid"]

    def envelope(self) -> Envelope:
        return decode(self.attributes, self.data)


_INSERT_EVENT = (
    "INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, source,"
    " subject, tenant, correlation_id, causation_id, time, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# Set in a connection's ``info`` by what adds events, so that a consumer knows
# whether its batch gave the relay something to publish (``took_added_events``).
_ADDED_EVENTS = "callcenter.added_events"


def took_added_events(conn: Connection | AsyncConnection) -> bool:
    """Did this connection add events since the last call? (Clears the mark: the
    ``info`` dictionary outlives the transaction, it is the pooled connection's.)"""
    return conn.info.pop(_ADDED_EVENTS, False)


def _row(envelope: Envelope) -> tuple[Any, ...]:
    """The values of ``_INSERT_EVENT``."""
    return (
        envelope.id,
        envelope.stream_id,
        envelope.stream_version,
        envelope.type,
        envelope.schema_version,
        envelope.source,
        envelope.subject,
        envelope.tenant,
        envelope.correlation_id,
        envelope.causation_id,
        format_time(envelope.time),
        envelope.data.model_dump_json(),  # as json_text(envelope.data_json()), a third faster
    )


def stored_event(row: Any) -> StoredEvent:
    attributes = {
        "id": row.event_id,
        "source": row.source,
        "type": row.type,
        "specversion": "1.0",
        "time": row.time,
        "tenant": row.tenant,
        "correlationid": row.correlation_id,
        "streamid": row.stream_id,
        "streamversion": str(row.stream_version),
        "schemaversion": str(row.schema_version),
    }
    if row.subject is not None:
        attributes["subject"] = row.subject
    if row.causation_id is not None:
        attributes["causationid"] = row.causation_id
    data = row.data if isinstance(row.data, dict) else json.loads(row.data)
    return StoredEvent(position=row.position, attributes=attributes, data=data)


async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
    """The version of the last event of a stream (0 for a new stream)."""
    query = select(func.max(events.c.stream_version)).where(events.c.stream_id == stream_id)
    return (await conn.scalar(query)) or 0


def lookup_each_sync(
    conn: Connection,
    keys: Iterable[str],
    lookup: Callable[[ColumnElement[str]], ScalarSelect[Any]],
) -> dict[str, Any]:
    """One value per key, each found by its own index probe, in one statement.

    ``lookup(key)`` is a correlated scalar subquery, evaluated for each key of a
    table-valued parameter (PostgreSQL ``unnest``, SQLite ``json_each``). Unlike
    ``WHERE k IN (...)``, which PostgreSQL may plan as a full scan while a
    table's statistics are stale (a new database under load), it stays one
    index probe per key, and the statement is the same for any number of keys
    (compiled once). Keys whose value is NULL are left out.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":
        source = func.unnest(bindparam("keys", wanted, type_=ARRAY(String)))
        key = source.table_valued("key").render_derived().c.key
    else:
        key = func.json_each(bindparam("keys", json.dumps(wanted))).table_valued("value").c.value
    result = conn.execute(select(key, lookup(key)))
    return {found_key: value for found_key, value in result if value is not None}


async def lookup_each(
    conn: AsyncConnection,
    keys: Iterable[str],
    lookup: Callable[[ColumnElement[str]], ScalarSelect[Any]],
) -> dict[str, Any]:
    """``lookup_each_sync`` on an async connection."""
    return await conn.run_sync(lookup_each_sync, keys, lookup)


def _stream_version_lookup(key: ColumnElement[str]) -> ScalarSelect[Any]:
    return (
        select(func.max(events.c.stream_version)).where(events.c.stream_id == key).scalar_subquery()
    )


async def stream_versions(conn: AsyncConnection, stream_ids: Iterable[str]) -> dict[str, int]:
    """The versions of several streams (new streams are absent)."""
    return await lookup_each(conn, stream_ids, _stream_version_lookup)


def append_sync(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Append envelopes (any streams) in the caller's transaction.

    Each stream's envelopes must continue it without a gap: the first one's
    version must be the stream's current version + 1, else ``ConcurrencyError``
    (the caller's transaction is then to be rolled back).
    """
    if not envelopes:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    current = lookup_each_sync(
        conn, (envelope.stream_id for envelope in envelopes), _stream_version_lookup
    )
    next_version: dict[str, int] = {}
    for envelope in envelopes:
        expected = next_version.get(envelope.stream_id) or current.get(envelope.stream_id, 0) + 1
        if envelope.stream_version != expected:
            raise ConcurrencyError(envelope.stream_id, envelope.stream_version - 1, expected - 1)
        next_version[envelope.stream_id] = expected + 1
    try:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_EVENT), [_row(item) for item in envelopes])
    except IntegrityError as error:
        first = envelopes[0]
        raise ConcurrencyError(first.stream_id, first.stream_version - 1) from error
    conn.info[_ADDED_EVENTS] = True


async def append(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """``append_sync`` on an async connection."""
    await conn.run_sync(append_sync, envelopes)


async def keep(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """Keep other services' events as they are, in commit order (an archive).

    No continuity check: a reader may start mid-stream. The unique stream
    version still refuses the same event twice.
    """
    if not envelopes:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    rows = [_row(envelope) for envelope in envelopes]
    await conn.exec_driver_sql(driver_sql(conn, _INSERT_EVENT), rows)
    conn.info[_ADDED_EVENTS] = True


async def append_to_stream(
    conn: AsyncConnection,
    stream_id: str,
    expected_version: int,
    events_to_append: Sequence[Event],
    *,
    source: str,
    tenant: str,
    correlation_id: str,
    causation_id: str | None = None,
    subject: str | None = None,
    time: datetime | None = None,
) -> list[Envelope]:
    """Wrap events in envelopes continuing ``stream_id`` after ``expected_version``
    (``time``: the service's clock, when it is not the wall clock)."""
    envelopes = [
        new_envelope(
            data,
            source=source,
            tenant=tenant,
            stream_id=stream_id,
            stream_version=expected_version + offset,
            correlation_id=correlation_id,
            causation_id=causation_id,
            subject=subject,
            time=time,
        )
        for offset, data in enumerate(events_to_append, start=1)
    ]
    await append(conn, envelopes)
    return envelopes


async def read_stream(
    conn: AsyncConnection, stream_id: str, after_version: int = 0
) -> list[Envelope]:
    query = (
        select(events)
        .where(events.c.stream_id == stream_id, events.c.stream_version > after_version)
        .order_by(events.c.stream_version)
    )
    return [stored_event(row).envelope() for row in await conn.execute(query)]


async def read_all(
    conn: AsyncConnection, after_position: int = 0, limit: int | None = None
) -> list[StoredEvent]:
    """Stored events in commit order (position order: appends are serialized)."""
    query = select(events).where(events.c.position > after_position).order_by(events.c.position)
    if limit is not None:
        query = query.limit(limit)
    return [stored_event(row) for row in await conn.execute(query)]


async def upsert(
    conn: AsyncConnection, table: Table, key: dict[str, Any], values: dict[str, Any]
) -> None:
    """Set ``values`` on the row with ``key`` (its primary key), creating it if missing.

    Only for rows one writer owns (a relay's checkpoint, a consumer's position,
    a tenant's snapshot): an UPDATE, then an INSERT if nothing was updated.
    """
    where = [table.c[name] == value for name, value in key.items()]
    changed = await conn.execute(update(table).where(*where).values(**values))
    if changed.rowcount == 0:
        await conn.execute(table.insert().values(**key, **values))
