"""Invariants of the event store, checked with hypothesis on every backend."""

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.events import store
from callcenter.events.catalogue.ivr import IvrNodeEntered
from callcenter.events.db import Database

PROPERTY_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


async def try_append(db: Database, stream: str, expected: int, count: int, hold: float) -> bool:
    try:
        async with db.transaction() as conn:
            await store.append_to_stream(
                conn,
                stream,
                expected,
                [
                    IvrNodeEntered(call_id="c1", node_id=f"a{n}", node_type="menu")
                    for n in range(count)
                ],
                source="test",
                tenant="acme",
                correlation_id=stream,
            )
            await asyncio.sleep(hold)  # commit late
        return True
    except store.ConcurrencyError:
        return False


@PROPERTY_SETTINGS
@given(
    attempts=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 3), st.sampled_from([0, 0.001, 0.005])),
        min_size=2,
        max_size=8,
    )
)
async def test_concurrent_appends_never_share_a_version(database: Database, attempts):
    stream = f"s-{uuid.uuid4()}"

    results = await asyncio.gather(
        *(try_append(database, stream, expected, count, hold) for expected, count, hold in attempts)
    )

    async with database.read() as conn:
        versions = [event.stream_version for event in await store.read_stream(conn, stream)]
    assert versions == list(range(1, len(versions) + 1))
    winners = [attempt for attempt, won in zip(attempts, results, strict=True) if won]
    assert sum(count for _, count, _ in winners) == len(versions)
    # Exactly one append can start a stream; each further winner continued the last.
    assert sorted(expected for expected, _, _ in winners) == sorted(
        {expected for expected, _, _ in winners}
    )


@PROPERTY_SETTINGS
@given(
    writers=st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from([0, 0.001, 0.003, 0.01])),
        min_size=1,
        max_size=10,
    )
)
async def test_reading_after_a_checkpoint_never_skips_a_late_commit(database: Database, writers):
    """What the relay does: read ``position > checkpoint`` while writers commit late."""
    run = uuid.uuid4().hex
    async with database.read() as conn:
        start = (await store.read_all(conn))[-1].position if await store.read_all(conn) else 0

    async def writer(stream_number: int, hold: float) -> None:
        stream = f"{run}-{stream_number}"
        while True:
            async with database.read() as conn:
                version = await store.stream_version(conn, stream)
            if await try_append(database, stream, version, 1, hold):
                return

    seen: list[store.StoredEvent] = []
    done = asyncio.Event()

    async def relay_reader() -> None:
        checkpoint = start
        while True:
            finished = done.is_set()
            async with database.read() as conn:
                batch = await store.read_all(conn, checkpoint)
            mine = [event for event in batch if event.stream_id.startswith(run)]
            seen.extend(mine)
            if batch:
                checkpoint = batch[-1].position
            if finished and not batch:
                return
            await asyncio.sleep(0)

    reader = asyncio.create_task(relay_reader())
    await asyncio.gather(*(writer(number, hold) for number, hold in writers))
    done.set()
    await reader

    async with database.read() as conn:
        committed = [e for e in await store.read_all(conn, start) if e.stream_id.startswith(run)]
    assert [e.event_id for e in seen] == [e.event_id for e in committed]
    assert [e.position for e in seen] == sorted(e.position for e in seen)
