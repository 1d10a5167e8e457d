"""What a running service holds: database, relay, consumers, background loops.

Started and stopped by the app's lifespan. Nothing here blocks start-up on the
broker: the relay and the consumers retry with backoff until it answers, so a
service is live (``/healthz``) at once and ready (``/readyz``) when both its
database and the broker answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from callcenter.events.aio import sleep_or_stop
from callcenter.events.bus import service_topic
from callcenter.events.consumer import Consumer, Handler
from callcenter.events.db import Database
from callcenter.events.kit.settings import ServiceSettings
from callcenter.events.relay import Relay

log = logging.getLogger(__name__)

Loop = Callable[[asyncio.Event], Awaitable[None]]


class Runtime:
    def __init__(self, settings: ServiceSettings, *, publishes: bool = True) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url())
        kafka = settings.kafka
        self.relay = (
            Relay(self.db, kafka, kafka.topic(service_topic(settings.service)))
            if publishes
            else None
        )
        self.consumers: list[Consumer] = []
        self._loops: list[tuple[str, Loop]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()
        # Set when the HTTP server begins to stop (before ``stopping``): long-lived
        # responses such as event streams end then.
        self.closing = asyncio.Event()

    def consume(
        self,
        name: str,
        topics: list[str],
        handler: Handler,
        *,
        on_commit: Callable[[], None] | None = None,
    ) -> Consumer:
        """Register a consumer; ``topics`` are plain names (``callcenter.ivr``);
        ``on_commit`` is told after each batch it committed. The relay is told
        after each batch whose handlers appended events: they are published at once."""
        kafka = self.settings.kafka
        consumer = Consumer(
            f"{self.settings.service}.{name}",
            self.db,
            kafka,
            [kafka.topic(topic) for topic in topics],
            handler,
            on_commit=on_commit,
            on_events_added=self.committed,
        )
        self.consumers.append(consumer)
        return consumer

    def background(self, name: str, loop: Loop) -> None:
        """Register a loop run until shutdown (e.g. a timer loop calling ``decide(Tick)``)."""
        self._loops.append((name, loop))

    def committed(self) -> None:
        """Call after a transaction that appended events: wakes the relay."""
        if self.relay is not None:
            self.relay.notify()

    async def start(self) -> None:
        self.closing.clear()
        self.stopping.clear()
        if self.relay is not None and self.settings.run_relay:
            self._spawn("relay", self.relay.run)
        if self.settings.run_consumers:
            for consumer in self.consumers:
                self._spawn(consumer.name, _supervised(consumer))
        for name, loop in self._loops:
            self._spawn(name, loop)

    async def stop(self) -> None:
        """Drain: each loop finishes what it holds, then the database closes."""
        self.closing.set()
        self.stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(
                self._tasks, timeout=self.settings.shutdown_grace_seconds
            )
            for task in pending:
                log.warning("%s did not stop in time; cancelling it", task.get_name())
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
        if self.relay is not None:
            await self.relay.stop()
        await self.db.dispose()

    def _spawn(self, name: str, loop: Loop) -> None:
        task = asyncio.create_task(loop(self.stopping), name=name)
        self._tasks.append(task)


def _supervised(consumer: Consumer) -> Loop:
    """Keep a consumer going: (re)start it until shutdown, backing off on failure."""

    async def run(stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                await consumer.start()
                backoff = 0.2
                await consumer.run(stop)
            except Exception as error:  # noqa: BLE001 - the supervisor must outlive any failure
                log.warning("consumer %s stopped: %s; restarting", consumer.name, error)
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                await consumer.stop()

    return run
