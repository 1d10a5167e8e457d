"""The event store's contract, run against every backend (SQLite and PostgreSQL)."""

import asyncio

import pytest
from sqlalchemy import Connection

from callcenter.events import store
from callcenter.events.catalogue.ivr import CallArrived, CallHungUp, IvrNodeEntered
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope, new_envelope


def arrived(call_id: str) -> CallArrived:
    return CallArrived(
        call_id=call_id, ani="+33628000001", dnis="+3311", flow_id="main", flow_version=1
    )


async def append(db: Database, stream: str, expected: int, *events, tenant: str = "acme"):
    async with db.transaction() as conn:
        return await store.append_to_stream(
            conn,
            stream,
            expected,
            list(events),
            source="test",
            tenant=tenant,
            correlation_id=stream,
        )


async def test_a_stream_reads_back_in_version_order(database: Database):
    await append(database, "call-1", 0, arrived("1"))
    await append(
        database,
        "call-1",
        1,
        IvrNodeEntered(call_id="c1", node_id="a1", node_type="menu"),
        IvrNodeEntered(call_id="c1", node_id="a2", node_type="menu"),
    )

    async with database.read() as conn:
        events = await store.read_stream(conn, "call-1")

    assert [e.stream_version for e in events] == [1, 2, 3]
    assert events[0].data == arrived("1")
    assert events[2].data.node_id == "a2"
    assert events[0].tenant == "acme"


async def test_appending_at_a_taken_version_fails_and_changes_nothing(database: Database):
    await append(database, "call-1", 0, arrived("1"))

    with pytest.raises(store.ConcurrencyError) as raised:
        await append(database, "call-1", 0, arrived("1"))

    assert raised.value.actual == 1
    async with database.read() as conn:
        assert len(await store.read_stream(conn, "call-1")) == 1


async def test_a_gap_in_versions_is_refused(database: Database):
    with pytest.raises(store.ConcurrencyError):
        await append(database, "call-1", 3, arrived("1"))


async def test_read_all_is_in_commit_order_across_streams(database: Database):
    await append(database, "call-a", 0, arrived("a"))
    await append(database, "call-b", 0, arrived("b"))
    await append(
        database, "call-a", 1, CallHungUp(call_id="a", by="caller", at="2026-01-01T00:00:00Z")
    )

    async with database.read() as conn:
        everything = await store.read_all(conn)
        after_first = await store.read_all(conn, everything[0].position)

    assert [(e.stream_id, e.attributes["streamversion"]) for e in everything] == [
        ("call-a", "1"), ("call-b", "1"), ("call-a", "2"),
    ]  # fmt: skip
    assert [e.position for e in after_first] == [e.position for e in everything[1:]]


async def test_stored_events_keep_time_with_microseconds(database: Database):
    [written] = await append(database, "call-1", 0, arrived("1"))

    async with database.read() as conn:
        [read] = await store.read_stream(conn, "call-1")

    assert read.time == written.time
    assert read.id == written.id


async def test_concurrent_appends_to_one_stream_never_both_win(database: Database):
    async def attempt(n: int) -> bool:
        try:
            await append(database, "call-x", 0, arrived(str(n)))
            return True
        except store.ConcurrencyError:
            return False

    results = await asyncio.gather(*(attempt(n) for n in range(8)))

    assert results.count(True) == 1
    async with database.read() as conn:
        assert len(await store.read_stream(conn, "call-x")) == 1


def envelope(stream: str, version: int, event) -> Envelope:
    return new_envelope(
        event,
        source="test",
        tenant="acme",
        stream_id=stream,
        stream_version=version,
        correlation_id=stream,
    )


async def test_a_synchronous_batch_transaction_commits_what_it_appended(database: Database):
    batch = [envelope("call-1", 1, arrived("1")), envelope("call-2", 1, arrived("2"))]

    def work(conn: Connection) -> int:
        store.append_sync(conn, batch)
        return len(batch)

    assert await database.run_transaction(work) == 2

    async with database.read() as conn:
        assert [e.event_id for e in await store.read_all(conn)] == [e.id for e in batch]


async def test_a_synchronous_batch_transaction_that_raises_changes_nothing(database: Database):
    await append(database, "call-1", 0, arrived("1"))

    def work(conn: Connection) -> None:
        store.append_sync(conn, [envelope("call-2", 1, arrived("2"))])
        store.append_sync(conn, [envelope("call-1", 1, arrived("1"))])  # taken: refused

    with pytest.raises(store.ConcurrencyError):
        await database.run_transaction(work)

    async with database.read() as conn:
        assert [e.stream_id for e in await store.read_all(conn)] == ["call-1"]


async def test_batch_transactions_and_async_appends_interleave_without_losing_one(
    database: Database,
):
    def work(n: int):
        return lambda conn: store.append_sync(conn, [envelope(f"sync-{n}", 1, arrived(str(n)))])

    await asyncio.gather(
        *(database.run_transaction(work(n)) for n in range(10)),
        *(append(database, f"async-{n}", 0, arrived(str(n))) for n in range(10)),
    )

    async with database.read() as conn:
        assert len(await store.read_all(conn)) == 20
