"""The idempotent consumer: applies each event exactly once in effect.

Auto-commit is off. For every batch the handler's effects, the version each
stream has reached and the partition positions commit in one transaction of
the consumer's own database, so a crash at any point replays at most what was
not committed, and a replayed event is recognised and skipped:

- an event whose stream version is at or below the recorded one is a duplicate;
- an event further ahead than the next version is out of order (the broker's
  log was rebuilt): it is skipped now and arrives again, in order, when the
  relay republishes;
- a message that can never be decoded goes to the dead-letter topic with its
  reason, and the consumer goes on; an event type this build does not know is
  skipped but still counted, so its stream goes on.

On partition assignment the consumer seeks to the last message it processed
(its anchor) and checks that the same event is still there. If it is not, the
broker's log was lost or rebuilt, and the consumer rereads the partition from
the beginning, deduplicating as it goes.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.aio import sleep_or_stop
from callcenter.events.bus import DLQ_TOPIC, KafkaSettings, anchors_held, ensure_topics
from callcenter.events.catalogue import UnknownEventType
from callcenter.events.codec import PoisonMessage, from_kafka
from callcenter.events.correlation import correlation_id
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope
from callcenter.events.metrics import CONSUMED

log = logging.getLogger(__name__)

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
# IntegrityError: another consumer claimed a stream first (a rebalance); retrying sees it.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError, IntegrityError)
# Seeking to offset 0 is synchronous, unlike seek_to_beginning, whose offset lookup
# can land after a fetch already started and deliver the first records twice.
# Below a real cluster's log start, the fetch resets to the earliest offset.
FIRST_OFFSET = 0
# How long a partition that looks shorter than the consumer's anchor is probed for it.
ANCHOR_PROBE_SECONDS = 1.0
# Seconds between mirrors of our positions to the group while batches keep coming
# (each mirror is a round trip to the broker's group coordinator).
MIRROR_INTERVAL = 1.0


@dataclass
class _Batch:
    """What one batch changes, applied to memory only after its commit."""

    positions: dict[TopicPartition, tuple[int, str]] = field(default_factory=dict)
    rewind: set[TopicPartition] = field(default_factory=set)
    anchors_checked: set[TopicPartition] = field(default_factory=set)
    dead_letters: list[tuple[Any, str]] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    # stream id -> the version handled, read before the batch and advanced by it
    reached: dict[str, int] = field(default_factory=dict)
    events_added: bool = False

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def dead_letter(self, record: Any, reason: str) -> None:
        self.dead_letters.append((record, reason))
        self.count("dead_lettered")


class _HandlerFailed(Exception):
    """A handler raised on the fast path: redo the batch one savepoint per event."""


class Consumer:
    def __init__(
        self,
        name: str,
        db: Database,
        kafka: KafkaSettings,
        topics: list[str],
        handler: Handler,
        *,
        max_batch: int = 500,
        group_id: str | None = None,
        on_commit: Callable[[], None] | None = None,
        on_events_added: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.db = db
        self.kafka = kafka
        self.topics = topics
        self.handler = handler
        # Told after each committed batch (e.g. a writer waiting on what the handler stored).
        self.on_commit = on_commit
        # Told after a committed batch whose handlers added events (e.g. the relay).
        self.on_events_added = on_events_added
        self.max_batch = max_batch
        self.group_id = group_id or kafka.topic(f"callcenter.{name}")
        self.dlq_topic = kafka.topic(DLQ_TOPIC)
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._expected_anchor: dict[TopicPartition, tuple[int, str]] = {}
        # A rebalance waits for the batch in hand, so it reads committed positions.
        self._batch_lock = asyncio.Lock()
        self._assignments = 0
        self._assigned_at: dict[TopicPartition, int] = {}
        self._unmirrored: dict[TopicPartition, int] = {}
        self._mirrored_at = 0.0
        self.assigned = asyncio.Event()

    # lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        await ensure_topics(self.kafka, [*self.topics, self.dlq_topic])
        self._dlq = self.kafka.producer()
        await self._dlq.start()
        self._consumer = self.kafka.consumer(self.group_id)
        self._consumer.subscribe(self.topics, listener=_Positioner(self))
        await self._consumer.start()

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        dlq, self._dlq = self._dlq, None
        if consumer is not None:
            await consumer.stop()
        if dlq is not None:
            await dlq.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set (the batch in hand is finished first)."""
        backoff = 0.1
        while not stop.is_set():
            try:
                handled = await self.poll_once()
                backoff = 0.1
                if not handled:
                    await asyncio.sleep(0)
            except (TimeoutError, KafkaError, OSError, *TRANSIENT_DB_ERRORS) as error:
                log.warning("consumer %s will retry after: %s", self.name, error)
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)

    # one batch ---------------------------------------------------------------------

    async def poll_once(self, timeout_ms: int = 200) -> int:
        """Fetch and apply one batch; returns the number of messages looked at."""
        assert self._consumer is not None, "start() first"
        assignment = self._assignments
        fetched = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self.max_batch)
        fetched = {tp: records for tp, records in fetched.items() if records}
        if not fetched:
            await self._mirror_positions(at_once=True)
            return 0
        async with self._batch_lock:
            if assignment != self._assignments:
                # A rebalance positioned the partitions while this batch was being
                # fetched: drop it and fetch again from the positions it chose.
                for partition, records in fetched.items():
                    self._consumer.seek(
                        partition, self._assigned_at.get(partition, records[0].offset)
                    )
                return 0
            try:
                try:
                    batch = await self._apply_batch(fetched, careful=False)
                except _HandlerFailed:
                    # Again, each event in a savepoint, so that only the failing one is undone.
                    batch = await self._apply_batch(fetched, careful=True)
            except BaseException:
                for partition, records in fetched.items():
                    self._consumer.seek(partition, records[0].offset)
                raise
            self._after_commit(batch)
        for outcome, count in batch.outcomes.items():
            CONSUMED.labels(self.name, outcome).inc(count)
        self._unmirrored.update({tp: offset for tp, (offset, _) in batch.positions.items()})
        await self._mirror_positions()
        return sum(len(records) for records in fetched.values())

    async def _apply_batch(self, fetched: dict[TopicPartition, list[Any]], careful: bool) -> _Batch:
        batch = _Batch()
        async with self.db.transaction() as conn:
            store.took_added_events(conn)  # a mark left by an earlier transaction
            await self._lock_partitions(conn, fetched)
            batch.reached = await self._reached_versions(conn, fetched)
            recorded = dict(batch.reached)
            for partition, records in fetched.items():
                await self._apply_partition(conn, partition, records, batch, careful)
            await self._save_stream_versions(conn, recorded, batch.reached)
            await self._save_positions(conn, batch.positions)
            await self._send_dead_letters(batch.dead_letters)
            batch.events_added = store.took_added_events(conn)
        return batch

    def _after_commit(self, batch: _Batch) -> None:
        assert self._consumer is not None
        for partition in batch.anchors_checked:
            self._expected_anchor.pop(partition, None)
        for partition in batch.rewind:
            log.warning(
                "consumer %s: %s no longer holds its anchor; rereading it", self.name, partition
            )
            self._consumer.seek(partition, FIRST_OFFSET)
        if self.on_commit is not None:
            self.on_commit()
        if batch.events_added and self.on_events_added is not None:
            self.on_events_added()

    async def _lock_partitions(
        self, conn: AsyncConnection, fetched: dict[TopicPartition, list[Any]]
    ) -> None:
        """PostgreSQL: one batch per partition at a time, even across a rebalance.

        (SQLite's BEGIN IMMEDIATE already serializes every writer.)
        """
        if conn.dialect.name != "postgresql":
            return
        for partition in sorted(fetched):
            key = zlib.crc32(f"{self.name}|{partition.topic}|{partition.partition}".encode())
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def _reached_versions(
        self, conn: AsyncConnection, fetched: dict[TopicPartition, list[Any]]
    ) -> dict[str, int]:
        """The version each stream of the batch has reached (streams seen first: absent)."""
        streams = {
            stream
            for records in fetched.values()
            for record in records
            if (stream := _header(record, "ce_streamid")) is not None
        }
        table = store.consumer_streams
        return await store.lookup_each(
            conn,
            streams,
            lambda key: (
                select(table.c.version)
                .where(table.c.consumer == self.name, table.c.stream_id == key)
                .scalar_subquery()
            ),
        )

    async def _apply_partition(
        self,
        conn: AsyncConnection,
        partition: TopicPartition,
        records: list[Any],
        batch: _Batch,
        careful: bool,
    ) -> None:
        for record in records:
            anchor = self._expected_anchor.get(partition)
            if anchor is not None and partition not in batch.anchors_checked:
                batch.anchors_checked.add(partition)
                offset, event_id = anchor
                if record.offset == offset and _event_id(record) == event_id:
                    continue  # the anchor is where we left it: carry on after it
                batch.rewind.add(partition)
                return
            await self._apply_record(conn, record, batch, careful)
            batch.positions[partition] = (record.offset + 1, _event_id(record))

    async def _apply_record(
        self, conn: AsyncConnection, record: Any, batch: _Batch, careful: bool
    ) -> None:
        if record.value is not None and len(record.value) > self.kafka.max_message_bytes:
            batch.dead_letter(record, f"message of {len(record.value)} bytes is too large")
            return
        try:
            stream_id = _header(record, "ce_streamid")
            version = int(_header(record, "ce_streamversion") or "")
            if not stream_id or version < 1:
                raise ValueError(version)
        except ValueError:
            batch.dead_letter(record, "missing or invalid ce_streamid/ce_streamversion")
            return
        reached = batch.reached.get(stream_id, 0)
        if version <= reached:
            batch.count("duplicate")
            return
        if version > reached + 1:
            log.info(
                "consumer %s: %s v%d arrived before v%d; skipped",
                self.name, stream_id, version, reached + 1,
            )  # fmt: skip
            batch.count("out_of_order")
            return
        batch.reached[stream_id] = version  # handled now, whatever the outcome below
        try:
            envelope = from_kafka(record.value, record.headers)
        except UnknownEventType:
            batch.count("unknown_type")
            return
        except PoisonMessage as error:
            batch.dead_letter(record, str(error))
            return
        with _correlated(envelope):
            await self._handle(conn, envelope, record, batch, careful)

    async def _handle(
        self, conn: AsyncConnection, envelope: Envelope, record: Any, batch: _Batch, careful: bool
    ) -> None:
        if not careful:
            try:
                await self.handler(conn, envelope)
            except Exception as error:
                if _transient(error):
                    raise
                raise _HandlerFailed from error
            batch.count("applied")
            return
        savepoint = await conn.begin_nested()
        try:
            await self.handler(conn, envelope)
        except Exception as error:
            if _transient(error):
                raise
            await savepoint.rollback()
            log.exception("consumer %s failed on %s %s", self.name, envelope.type, envelope.id)
            batch.dead_letter(record, f"handler failed: {_describe(error)}")
            return
        await savepoint.commit()
        batch.count("applied")

    async def _save_stream_versions(
        self, conn: AsyncConnection, recorded: dict[str, int], reached: dict[str, int]
    ) -> None:
        table = store.consumer_streams
        new = [
            {"consumer": self.name, "stream_id": stream, "version": version}
            for stream, version in reached.items()
            if stream not in recorded
        ]
        moved = [
            {"key_consumer": self.name, "key_stream": stream, "new_version": version}
            for stream, version in reached.items()
            if stream in recorded and recorded[stream] != version
        ]
        if new:
            await conn.execute(table.insert(), new)
        if moved:
            await conn.execute(
                update(table)
                .where(
                    table.c.consumer == bindparam("key_consumer"),
                    table.c.stream_id == bindparam("key_stream"),
                )
                .values(version=bindparam("new_version")),
                moved,
            )

    async def _save_positions(
        self, conn: AsyncConnection, positions: dict[TopicPartition, tuple[int, str]]
    ) -> None:
        for partition, (next_offset, event_id) in positions.items():
            await store.upsert(
                conn,
                store.consumer_offsets,
                {"consumer": self.name, "topic": partition.topic, "partition": partition.partition},
                {"next_offset": next_offset, "anchor_event_id": event_id},
            )

    async def _send_dead_letters(self, dead_letters: list[tuple[Any, str]]) -> None:
        if not dead_letters:
            return
        assert self._dlq is not None
        sent = []
        for record, reason in dead_letters:
            log.warning(
                "consumer %s: %s[%d]@%d to %s: %s",
                self.name, record.topic, record.partition, record.offset, self.dlq_topic, reason,
            )  # fmt: skip
            headers = [
                *(record.headers or ()),
                ("dlq_reason", reason.encode()[:1000]),
                ("dlq_consumer", self.name.encode()),
                ("dlq_topic", record.topic.encode()),
                ("dlq_partition", str(record.partition).encode()),
                ("dlq_offset", str(record.offset).encode()),
            ]
            body = _dead_letter_body(record.value, self.kafka)
            sent.append(await self._dlq.send(self.dlq_topic, body, key=record.key, headers=headers))
        await asyncio.gather(*sent)

    async def _mirror_positions(self, at_once: bool = False) -> None:
        """Mirror our positions to the group, for lag tools only (ours are the truth):
        while batches keep coming, once every ``MIRROR_INTERVAL``; at once when idle.
        (Not when stopping: aiokafka retries a commit until the broker answers.)"""
        if not self._unmirrored or self._consumer is None:
            return
        now = asyncio.get_running_loop().time()
        if not at_once and now - self._mirrored_at < MIRROR_INTERVAL:
            return
        offsets, self._unmirrored = self._unmirrored, {}
        self._mirrored_at = now
        try:
            await self._consumer.commit(offsets)
        except KafkaError as error:
            log.debug("consumer %s: offset mirror not committed: %s", self.name, error)

    async def position_on_assignment(self, assigned: set[TopicPartition]) -> None:
        table = store.consumer_offsets
        async with self.db.read() as conn:
            rows = await conn.execute(select(table).where(table.c.consumer == self.name))
            saved = {
                TopicPartition(row.topic, row.partition): (row.next_offset, row.anchor_event_id)
                for row in rows
            }
        if self._consumer is None:
            return  # stopping: a rebalance finished as the consumer was being closed
        # Each partition's anchor: the offset and event id of the last message applied.
        anchors = {p: (saved[p][0] - 1, saved[p][1]) for p in assigned if p in saved}
        ends = await self._end_offsets(list(anchors))
        lost = await self._lost_anchors(anchors, ends)
        for partition in assigned:
            if partition in lost:
                # The log ends before our anchor: it was lost and rebuilt shorter (a log
                # inflated by republished copies). Seeking past its end would wait there
                # for new messages, the anchor check never made: reread it now.
                log.warning(
                    "consumer %s: %s ends at %d, before its anchor at %d; rereading it",
                    self.name, partition, ends[partition], anchors[partition][0],
                )  # fmt: skip
                self._assigned_at[partition] = FIRST_OFFSET
                self._expected_anchor.pop(partition, None)
            elif partition in anchors:
                self._assigned_at[partition] = anchors[partition][0]
                self._expected_anchor[partition] = anchors[partition]
            else:
                self._assigned_at[partition] = FIRST_OFFSET
                self._expected_anchor.pop(partition, None)
            self._consumer.seek(partition, self._assigned_at[partition])
        # What a predecessor committed but did not mirror (it stopped first) is
        # mirrored at the first idle poll; revoked partitions are no longer ours to mirror.
        self._unmirrored = {p: saved[p][0] for p in assigned if p in saved}
        self._assignments += 1
        self.assigned.set()

    async def _lost_anchors(
        self, anchors: dict[TopicPartition, tuple[int, str]], ends: dict[TopicPartition, int]
    ) -> set[TopicPartition]:
        """The partitions whose log ends before their anchor, ``(offset, event id)``. The
        end offset only says where to look: the embedded broker's falls short of the log's
        end when its last batch holds several messages (it answers that batch's first
        offset + 1), so those partitions are probed at their anchor."""
        shorter = {
            p: anchor for p, anchor in anchors.items() if ends.get(p, anchor[0] + 1) <= anchor[0]
        }
        if not shorter:
            return set()
        try:
            return set(shorter) - await anchors_held(self.kafka, shorter, ANCHOR_PROBE_SECONDS)
        except (TimeoutError, KafkaError, OSError) as error:
            log.warning("consumer %s: anchors not probed: %s", self.name, error)
            return set(shorter)

    async def _end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Where the partitions' logs end now (none known if the broker does not say)."""
        if not partitions or self._consumer is None:
            return {}
        try:
            return await self._consumer.end_offsets(partitions)
        except (TimeoutError, KafkaError, OSError) as error:
            log.warning("consumer %s: end offsets unknown: %s", self.name, error)
            return {}


class _Positioner(ConsumerRebalanceListener):
    def __init__(self, owner: Consumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.owner._batch_lock:
            for partition in revoked:
                self.owner._expected_anchor.pop(partition, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.owner._batch_lock:
            await self.owner.position_on_assignment(assigned)


def _dead_letter_body(value: bytes | None, kafka: KafkaSettings) -> bytes | None:
    """An oversized message keeps only its first KiB, so that its dead letter can be sent."""
    if value is None or len(value) <= kafka.max_message_bytes // 2:
        return value
    return value[:1024]


@contextmanager
def _correlated(envelope: Envelope) -> Iterator[None]:
    token = correlation_id.set(envelope.correlation_id)
    try:
        yield
    finally:
        correlation_id.reset(token)


def _header(record: Any, wanted: str) -> str | None:
    for name, value in record.headers or ():
        if name == wanted and value is not None:
            return value.decode(errors="replace")
    return None


def _event_id(record: Any) -> str:
    return _header(record, "ce_id") or f"offset:{record.offset}"


def _transient(error: Exception) -> bool:
    """A database error that says nothing about the event: retry the batch later."""
    if isinstance(error, TRANSIENT_DB_ERRORS):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _describe(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()[:500]
