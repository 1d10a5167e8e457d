"""The outbox relay: publishes a service's stored events to its topic, in order.

Appends are serialized (see ``store.append``), so position order is commit
order and reading ``position > checkpoint`` never skips an event that commits
late. The checkpoint is saved only after the broker acknowledged every event of
a batch (acks=all): a crash in between republishes, consumers deduplicate.

The embedded broker keeps its log in memory. The relay notices a lost log in
two ways: an acknowledged offset at or below the last one it recorded for that
partition, or an idle probe that no longer finds its last event at its offset.
It then republishes the whole store, in order.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.aio import sleep_or_stop, wait_either
from callcenter.events.bus import KafkaSettings, anchors_held, ensure_topics
from callcenter.events.codec import encode
from callcenter.events.db import Database
from callcenter.events.metrics import RELAY_ERRORS, RELAY_LOG_LOSSES, RELAY_PUBLISHED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    """The last event the relay saw acknowledged on a partition."""

    offset: int
    event_id: str


class Relay:
    def __init__(
        self,
        db: Database,
        kafka: KafkaSettings,
        topic: str,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        probe_interval: float = 5.0,
    ) -> None:
        self.db = db
        self.kafka = kafka
        self.topic = topic
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.probe_interval = probe_interval
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Tell the relay new events were committed. Every commit in the process does
        (``Runtime.committed``); the relay also looks every ``poll_interval``."""
        self._wake.set()

    async def start(self) -> None:
        if self._producer is None:
            await ensure_topics(self.kafka, [self.topic])
            self._producer = self.kafka.producer()
            await self._producer.start()

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; returns how many."""
        await self.start()
        assert self._producer is not None
        async with self.db.read() as conn:
            position = await self._checkpoint(conn)
            batch = await store.read_all(conn, position, self.batch_size)
            anchors = await self._anchors(conn)
        if not batch:
            return 0
        sent = []
        for stored in batch:
            record = encode(stored.stream_id, stored.attributes, stored.data)
            sent.append(
                await self._producer.send(
                    self.topic, record.value, key=record.key, headers=record.headers
                )
            )
        acknowledged = await asyncio.gather(*sent)
        latest: dict[int, Anchor] = {}
        for stored, metadata in zip(batch, acknowledged, strict=True):
            known = latest.get(metadata.partition) or anchors.get(metadata.partition)
            if known is not None and metadata.offset <= known.offset:
                await self._log_lost(
                    f"partition {metadata.partition} acknowledged offset "
                    f"{metadata.offset}, at or below {known.offset}"
                )
                return 0
            latest[metadata.partition] = Anchor(metadata.offset, stored.event_id)
        async with self.db.transaction() as conn:
            await self._save(conn, batch[-1].position, latest)
        RELAY_PUBLISHED.labels(self.topic).inc(len(batch))
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; back off while the broker is away."""
        backoff = 0.1
        idle_since = asyncio.get_running_loop().time()
        while not stop.is_set():
            # Cleared before reading: a commit told while this batch is read (and
            # perhaps not in it) makes the next round start at once.
            self._wake.clear()
            try:
                published = await self.publish_pending()
                backoff = 0.1
            except (TimeoutError, KafkaError, OSError) as error:
                RELAY_ERRORS.labels(self.topic).inc()
                log.warning("relay %s cannot publish: %s", self.topic, error)
                await self._reset_producer()
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            now = asyncio.get_running_loop().time()
            if published:
                idle_since = now
                continue
            if now - idle_since >= self.probe_interval:
                idle_since = now
                await self._probe_quietly()
            await wait_either(self._wake, stop, self.poll_interval)

    async def _probe_quietly(self) -> None:
        try:
            if not await self.log_intact() and not await self.log_intact():
                await self._log_lost("the last published events are no longer in the log")
        except (TimeoutError, KafkaError, OSError) as error:
            log.warning("relay %s cannot probe the log: %s", self.topic, error)

    async def log_intact(self, wait_seconds: float = 2.0) -> bool:
        """Is the last acknowledged event of every partition still at its offset?"""
        async with self.db.read() as conn:
            anchors = await self._anchors(conn)
        if not anchors:
            return True
        partitions = {
            TopicPartition(self.topic, p): (anchor.offset, anchor.event_id)
            for p, anchor in anchors.items()
        }
        return await anchors_held(self.kafka, partitions, wait_seconds) == set(partitions)

    async def _log_lost(self, why: str) -> None:
        RELAY_LOG_LOSSES.labels(self.topic).inc()
        log.error(
            "relay %s: the broker lost its log (%s); republishing the whole store", self.topic, why
        )
        async with self.db.transaction() as conn:
            await conn.execute(
                delete(store.relay_anchors).where(store.relay_anchors.c.topic == self.topic)
            )
            await self._save(conn, 0, {})
        await ensure_topics(self.kafka, [self.topic])

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception:
                log.debug("producer stop failed", exc_info=True)

    async def _checkpoint(self, conn: AsyncConnection) -> int:
        query = select(store.relay_checkpoints.c.position).where(
            store.relay_checkpoints.c.topic == self.topic
        )
        return (await conn.scalar(query)) or 0

    async def _anchors(self, conn: AsyncConnection) -> dict[int, Anchor]:
        table = store.relay_anchors
        rows = await conn.execute(select(table).where(table.c.topic == self.topic))
        return {row.partition: Anchor(row.offset, row.event_id) for row in rows}

    async def _save(self, conn: AsyncConnection, position: int, anchors: dict[int, Anchor]) -> None:
        await store.upsert(
            conn, store.relay_checkpoints, {"topic": self.topic}, {"position": position}
        )
        for partition, anchor in anchors.items():
            await store.upsert(
                conn,
                store.relay_anchors,
                {"topic": self.topic, "partition": partition},
                {"offset": anchor.offset, "event_id": anchor.event_id},
            )
