"""Reads the dead-letter topic for the whole run, as an operator's tool would: every
message any consumer dead-letters, with its reason. The embedded broker forgets its
log when it restarts, so the reader follows the topic throughout instead of reading
it at the end, and reads again from the start of the new log after a restart."""

from __future__ import annotations

import asyncio
import threading

from aiokafka.errors import KafkaError

from callcenter.events.bus import DLQ_TOPIC, KafkaSettings


class DeadLetterWatch(threading.Thread):
    def __init__(self, bootstrap_servers: str) -> None:
        super().__init__(daemon=True)
        self.kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, client_id="dlq-watch")
        self.seen: list[str] = []  # "<consumer> <topic>@<offset>: <reason>"
        self.reading = threading.Event()  # subscribed at least once
        self._stopping = threading.Event()

    def run(self) -> None:
        asyncio.run(self._follow())

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)

    async def _follow(self) -> None:
        while not self._stopping.is_set():
            reader = self.kafka.consumer(None)
            try:
                await reader.start()
                reader.subscribe([self.kafka.topic(DLQ_TOPIC)])
                self.reading.set()
                while not self._stopping.is_set():
                    for records in (await reader.getmany(timeout_ms=500)).values():
                        self.seen += [_describe(record) for record in records]
            except (KafkaError, OSError, TimeoutError):
                await asyncio.sleep(1)  # the broker is away: follow it when it is back
            finally:
                await reader.stop()


def _describe(record) -> str:
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    return (f"{headers.get('dlq_consumer')} {headers.get('dlq_topic')}@"
            f"{headers.get('dlq_offset')}: {headers.get('dlq_reason')}")  # fmt: skip
