"""From one service's store to another service's consumer, through a real broker,
exactly once in effect: across relay crashes, consumer crashes, broker log loss
and poison messages."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.broker import EmbeddedBroker
from callcenter.events.bus import DLQ_TOPIC, KafkaSettings
from callcenter.events.catalogue.ivr import CallArrived
from callcenter.events.consumer import Consumer
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope
from callcenter.events.relay import Relay

pytestmark = pytest.mark.broker

effects_metadata = MetaData()
effects = Table(
    "effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
)


async def record_effect(conn: AsyncConnection, envelope: Envelope) -> None:
    await conn.execute(
        effects.insert().values(
            event_id=envelope.id, stream_id=envelope.stream_id, version=envelope.stream_version
        )
    )


@pytest.fixture
async def producer_db(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'ivr.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(store.metadata.create_all)
    yield db
    await db.dispose()


@pytest.fixture
async def consumer_db(database: Database):
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    return database


async def append_calls(db: Database, first: int, count: int, events_per_call: int = 1) -> None:
    for n in range(first, first + count):
        async with db.transaction() as conn:
            await store.append_to_stream(
                conn,
                f"call-{n}",
                0,
                [CallArrived(call_id=str(n), ani=f"+3362800{n:04d}", dnis="+3311")]
                * events_per_call,
                source="ivr",
                tenant="acme",
                correlation_id=str(n),
            )


async def effect_counts(db: Database) -> dict[tuple[str, int], int]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(effects.c.stream_id, effects.c.version, func.count()).group_by(
                effects.c.stream_id, effects.c.version
            )
        )
        return {(row[0], row[1]): row[2] for row in rows}


async def wait_for_effects(db: Database, expected: int, within: float = 30.0) -> dict:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        counts = await effect_counts(db)
        if len(counts) >= expected or asyncio.get_running_loop().time() > deadline:
            return counts
        await asyncio.sleep(0.05)


async def settled_effects(db: Database, expected: int, within: float = 30.0) -> dict:
    """Wait for the expected effects, then a little longer, so that a duplicate would show."""
    await wait_for_effects(db, expected, within)
    await asyncio.sleep(0.5)
    return await effect_counts(db)


async def run_until_killed(consumer: Consumer) -> None:
    await consumer.start()
    with pytest.raises(SystemExit):
        while True:
            await consumer.poll_once()
    await consumer.stop()


def expected_keys(calls: range, events_per_call: int = 1) -> set[tuple[str, int]]:
    return {(f"call-{n}", v) for n in calls for v in range(1, events_per_call + 1)}


@contextlib.asynccontextmanager
async def running(*components):
    stop = asyncio.Event()
    tasks = []
    for component in components:
        await component.start()
        tasks.append(asyncio.create_task(component.run(stop)))
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for component in components:
            await component.stop()


def relay_for(db: Database, kafka: KafkaSettings) -> Relay:
    return Relay(db, kafka, kafka.topic("callcenter.ivr"), poll_interval=0.02, probe_interval=0.5)


def consumer_for(db: Database, kafka: KafkaSettings, name: str = "crm") -> Consumer:
    return Consumer(name, db, kafka, [kafka.topic("callcenter.ivr")], record_effect)


async def test_an_event_reaches_the_other_service_exactly_once(producer_db, consumer_db, kafka):
    await append_calls(producer_db, 0, 20, events_per_call=3)

    async with running(relay_for(producer_db, kafka), consumer_for(consumer_db, kafka)):
        counts = await wait_for_effects(consumer_db, 60)

    assert set(counts) == expected_keys(range(20), 3)
    assert set(counts.values()) == {1}


async def test_the_relay_publishes_on_being_told_without_polling(producer_db, consumer_db, kafka):
    relay = Relay(producer_db, kafka, kafka.topic("callcenter.ivr"), poll_interval=3600)

    async with running(relay, consumer_for(consumer_db, kafka)):
        for first in range(0, 20, 2):  # commits told while the relay reads, or idles
            await append_calls(producer_db, first, 2)
            relay.notify()
            await asyncio.sleep(0.01 * (first % 3))
        counts = await wait_for_effects(consumer_db, 20)

    assert set(counts) == expected_keys(range(20))


async def test_a_handlers_events_go_out_at_once_and_other_batches_wake_no_relay(
    producer_db, consumer_db, kafka
):
    """The relay of the consuming service is told after the batches whose handlers
    appended events, and only then: each telling is a read of its store."""

    async def follow_up_from_call_100(conn: AsyncConnection, envelope: Envelope) -> None:
        await record_effect(conn, envelope)
        if envelope.data.call_id == "100":
            await store.append_to_stream(
                conn, "follow-up-100", 0, [envelope.data], source="crm", tenant="acme",
                correlation_id=envelope.correlation_id,
            )  # fmt: skip

    crm_relay = Relay(consumer_db, kafka, kafka.topic("callcenter.crm"), poll_interval=3600)
    told = []

    def tell_the_relay() -> None:
        told.append(1)
        crm_relay.notify()

    consumer = Consumer(
        "crm", consumer_db, kafka, [kafka.topic("callcenter.ivr")], follow_up_from_call_100,
        on_events_added=tell_the_relay,
    )  # fmt: skip
    async with running(relay_for(producer_db, kafka), consumer, crm_relay):
        await append_calls(producer_db, 0, 5)
        await settled_effects(consumer_db, 5)
        assert told == []

        await append_calls(producer_db, 100, 1)
        await wait_for_effects(consumer_db, 6)
        published = 0
        deadline = asyncio.get_running_loop().time() + 10
        while published < 1 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            async with consumer_db.read() as conn:
                published = await crm_relay._checkpoint(conn)

    assert told == [1]
    assert published == 1  # the follow-up, though the relay polls once an hour


async def test_positions_are_mirrored_to_the_group_for_lag_tools(producer_db, consumer_db, kafka):
    """Lag tools read the group's committed offsets: an idle consumer has mirrored
    every position it committed to its own database, also those a predecessor
    committed but stopped before mirroring."""

    class NeverMirrors(Consumer):
        async def _mirror_positions(self, at_once=False):
            pass

    async def ours_and_the_groups(group_id: str) -> tuple[dict, dict]:
        async with consumer_db.read() as conn:
            rows = await conn.execute(select(store.consumer_offsets))
            ours = {TopicPartition(row.topic, row.partition): row.next_offset for row in rows}
        lag_tool = kafka.consumer(group_id)  # reads the group's offsets, joins nothing
        await lag_tool.start()
        try:
            return ours, {partition: await lag_tool.committed(partition) for partition in ours}
        finally:
            await lag_tool.stop()

    relay = relay_for(producer_db, kafka)
    predecessor = NeverMirrors("crm", consumer_db, kafka, [kafka.topic("callcenter.ivr")],
                               record_effect)  # fmt: skip
    async with running(relay, predecessor):
        await append_calls(producer_db, 0, 20)
        await settled_effects(consumer_db, 20)
    ours, mirrored = await ours_and_the_groups(predecessor.group_id)
    assert sum(ours.values()) == 20
    assert set(mirrored.values()) == {None}

    consumer = consumer_for(consumer_db, kafka)
    async with running(relay, consumer):
        await consumer.assigned.wait()
        await asyncio.sleep(1)  # idle polls
        assert await ours_and_the_groups(consumer.group_id) == (ours, ours)

        await append_calls(producer_db, 20, 10)
        await settled_effects(consumer_db, 30)
        ours, mirrored = await ours_and_the_groups(consumer.group_id)

    assert sum(ours.values()) == 30
    assert mirrored == ours


class CrashAfterPublishing(Relay):
    """A relay that dies after the broker acknowledged, before saving its checkpoint."""

    async def _save(self, conn, position, anchors):
        raise SystemExit("killed between publishing and recording")


async def test_relay_killed_between_publishing_and_recording(producer_db, consumer_db, kafka):
    await append_calls(producer_db, 0, 10)
    crashing = CrashAfterPublishing(producer_db, kafka, kafka.topic("callcenter.ivr"))
    with pytest.raises(SystemExit):
        await crashing.publish_pending()
    await crashing.stop()

    # The restarted relay publishes the same events again; the consumer sees both copies.
    async with running(relay_for(producer_db, kafka), consumer_for(consumer_db, kafka)):
        counts = await settled_effects(consumer_db, 10)

    assert set(counts) == expected_keys(range(10))
    assert set(counts.values()) == {1}


async def test_consumer_killed_between_applying_and_committing_offsets(
    producer_db, consumer_db, kafka
):
    await append_calls(producer_db, 0, 10)
    relay = relay_for(producer_db, kafka)
    await relay.publish_pending()

    class DiesBeforeCommittingOffsets(Consumer):
        async def _mirror_positions(self, at_once=False):
            if self._unmirrored:  # a batch was applied and committed to our database
                self._unmirrored.clear()  # lost with the process
                raise SystemExit("killed before committing the Kafka offset")

    dying = DiesBeforeCommittingOffsets(
        "crm", consumer_db, kafka, [kafka.topic("callcenter.ivr")], record_effect
    )
    await run_until_killed(dying)

    async with running(relay, consumer_for(consumer_db, kafka)):
        await append_calls(producer_db, 10, 5)
        counts = await settled_effects(consumer_db, 15)

    assert set(counts) == expected_keys(range(15))
    assert set(counts.values()) == {1}


async def test_consumer_killed_mid_transaction_applies_nothing_twice(
    producer_db, consumer_db, kafka
):
    await append_calls(producer_db, 0, 10)
    relay = relay_for(producer_db, kafka)
    await relay.publish_pending()
    applied = 0

    async def dies_on_the_seventh(conn, envelope):
        nonlocal applied
        applied += 1
        await record_effect(conn, envelope)
        if applied == 7:
            raise SystemExit("killed while applying")

    dying = Consumer(
        "crm", consumer_db, kafka, [kafka.topic("callcenter.ivr")], dies_on_the_seventh, max_batch=3
    )
    await run_until_killed(dying)

    async with running(relay, consumer_for(consumer_db, kafka)):
        counts = await settled_effects(consumer_db, 10)

    assert set(counts) == expected_keys(range(10))
    assert set(counts.values()) == {1}


@pytest.mark.embedded_broker
async def test_broker_losing_its_whole_log_mid_stream(
    producer_db, consumer_db, embedded_broker: EmbeddedBroker, kafka
):
    relay = relay_for(producer_db, kafka)
    consumer = consumer_for(consumer_db, kafka)
    async with running(relay, consumer):
        await append_calls(producer_db, 0, 30, events_per_call=2)
        await wait_for_effects(consumer_db, 20)

        embedded_broker.kill()  # the in-memory log is gone
        await append_calls(producer_db, 30, 10, events_per_call=2)  # accepted while it is down
        embedded_broker.start()
        await append_calls(producer_db, 40, 10, events_per_call=2)

        counts = await settled_effects(consumer_db, 100, within=60)

    assert set(counts) == expected_keys(range(50), 2)
    assert set(counts.values()) == {1}


async def test_poison_messages_go_to_the_dlq_and_the_consumer_goes_on(
    producer_db, consumer_db, kafka
):
    topic = kafka.topic("callcenter.ivr")
    producer = kafka.producer()
    await producer.start()
    await append_calls(producer_db, 0, 3)
    relay = relay_for(producer_db, kafka)
    await relay.publish_pending()
    good_headers = [
        ("ce_id", b"e-1"), ("ce_source", b"ivr"), ("ce_specversion", b"1.0"),
        ("ce_tenant", b"acme"), ("ce_streamid", b"call-x"), ("ce_streamversion", b"1"),
    ]  # fmt: skip
    poisons = {
        b"not json": [*good_headers, ("ce_type", b"CallArrived")],
        b'{"call_id": "x"}': [*good_headers, ("ce_type", b"CallArrived")],  # misses ani, dnis
        b'{"call_id": "x", "ani": "1", "dnis": "2"}': [("ce_type", b"CallArrived")],
    }
    for partition_key, (value, headers) in enumerate(poisons.items()):
        headers = [(k, v.replace(b"call-x", f"call-x{partition_key}".encode())) for k, v in headers]
        await producer.send_and_wait(
            topic, value, key=f"call-x{partition_key}".encode(), headers=headers
        )
    await producer.stop()
    await append_calls(producer_db, 3, 3)

    async with running(relay, consumer_for(consumer_db, kafka)):
        counts = await wait_for_effects(consumer_db, 6)

    assert set(counts) == expected_keys(range(6))
    reasons = await read_dlq(kafka, 3)
    assert len(reasons) == 3  # one dead letter for each poison message
    assert any("not JSON" in reason for reason in reasons)
    assert any("ani" in reason and "Field required" in reason for reason in reasons)
    assert any("ce_streamid" in reason for reason in reasons)


async def read_dlq(kafka: KafkaSettings, expected: int) -> list[str]:
    reader = kafka.consumer(None)
    await reader.start()
    reader.subscribe([kafka.topic(DLQ_TOPIC)])
    reasons: list[str] = []
    deadline = asyncio.get_running_loop().time() + 15
    try:
        while asyncio.get_running_loop().time() < deadline:
            batch = await reader.getmany(timeout_ms=1000)
            if not batch and len(reasons) >= expected:
                break  # nothing more came for a second: no duplicates behind
            for records in batch.values():
                for record in records:
                    reasons.append(dict(record.headers)["dlq_reason"].decode())
    finally:
        await reader.stop()
    return reasons


async def test_a_failing_handler_dead_letters_its_event_only(producer_db, consumer_db, kafka):
    await append_calls(producer_db, 0, 8)

    async def fails_on_call_3(conn, envelope):
        await record_effect(conn, envelope)  # undone for the failing event
        if envelope.data.call_id == "3":
            raise ValueError("no agent group for this number")

    consumer = Consumer("crm", consumer_db, kafka, [kafka.topic("callcenter.ivr")], fails_on_call_3)
    async with running(relay_for(producer_db, kafka), consumer):
        counts = await wait_for_effects(consumer_db, 7)

    assert set(counts) == expected_keys(range(8)) - {("call-3", 1)}
    assert set(counts.values()) == {1}
    [reason] = await read_dlq(kafka, 1)
    assert reason.startswith("handler failed: ValueError: no agent group")


async def test_a_restarted_consumer_rereads_no_intact_log(producer_db, consumer_db, kafka, caplog):
    """The embedded broker's end offsets can fall short of the log's end by a batch
    (it answers the last batch's first offset + 1): a log that merely looks shorter
    than the consumer's anchor is checked at the anchor before it is reread."""
    relay = relay_for(producer_db, kafka)
    await append_calls(producer_db, 0, 40)
    await relay.publish_pending()  # several events per partition in one batch
    async with running(consumer_for(consumer_db, kafka)):
        await wait_for_effects(consumer_db, 40)

    restarted = consumer_for(consumer_db, kafka)
    async with running(relay, restarted):
        await restarted.assigned.wait()
        await append_calls(producer_db, 40, 4)
        counts = await settled_effects(consumer_db, 44)

    assert set(counts) == expected_keys(range(44))
    assert set(counts.values()) == {1}
    assert "rereading" not in caplog.text


@pytest.mark.embedded_broker
async def test_a_log_rebuilt_shorter_than_the_consumers_anchor_is_reread_at_once(
    producer_db, consumer_db, embedded_broker: EmbeddedBroker, kafka
):
    """A log inflated by republished copies, then lost and rebuilt from the store, ends
    before the consumer's anchor: the consumer must not wait past its end (the chaos
    test saw calls reach routing minutes late, when new traffic pushed the log past it)."""
    relay = relay_for(producer_db, kafka)
    consumer = consumer_for(consumer_db, kafka)
    async with running(relay, consumer):
        await append_calls(producer_db, 0, 12)
        await wait_for_effects(consumer_db, 12)
        for _ in range(2):  # the relay forgets what it published: two more copies of it all
            async with producer_db.transaction() as conn:
                await conn.execute(store.relay_anchors.delete())
                await conn.execute(store.relay_checkpoints.delete())
            relay.notify()
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                async with consumer_db.read() as conn:
                    row = await conn.execute(select(func.sum(store.consumer_offsets.c.next_offset)))
                    if (row.scalar() or 0) >= 12 * (_ + 2):
                        break
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)

        embedded_broker.kill()  # lost; the relay rebuilds it from the store, a third as long
        embedded_broker.start()
        await append_calls(producer_db, 12, 1)
        counts = await settled_effects(consumer_db, 13, within=20)

    assert set(counts) == expected_keys(range(13))
    assert set(counts.values()) == {1}
