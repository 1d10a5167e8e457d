"""Kafka connection settings, topic names and client factories (aiokafka)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel, Field

from callcenter.events.log_throttle import throttle_kafka_client_logs

log = logging.getLogger(__name__)
throttle_kafka_client_logs()  # a broker away must not flood the logs

DLQ_TOPIC = "callcenter.dlq"


def service_topic(service: str) -> str:
    """The one topic a service writes (one writer per topic)."""
    return f"callcenter.{service}"


class KafkaSettings(BaseModel):
    """Connection to any Kafka-protocol broker (the embedded one or a real cluster)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "callcenter"
    # Lets several environments (or test runs) share one cluster.
    topic_prefix: str = ""
    # The embedded broker auto-creates missing topics with 4 partitions; using the
    # same count everywhere keeps a stream on the same partition after it restarts.
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # A group join takes about half the session timeout on the embedded broker.
    session_timeout_ms: int = Field(default=6000, ge=500)
    heartbeat_interval_ms: int = Field(default=1000, ge=100)
    # The embedded broker sleeps half of this on an idle fetch, then answers empty, and
    # the client asks again at once: every idle consumer polls at 1/(this/2). At 10 ms
    # an idle consumer cost 8% of a core in the broker and 9% in its service (nine
    # consumers: the idle platform used 115% of the machine's two cores); at 50 ms,
    # 3% and 2%, for 10 ms (p50) and 29 ms (max) from send to receive instead of 6 and 9.
    fetch_max_wait_ms: int = Field(default=50, ge=0)
    request_timeout_ms: int = Field(default=15000, ge=1000)
    # Real Kafka only: the embedded broker rejects idempotent producers.
    enable_idempotence: bool = False
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    max_message_bytes: int = Field(default=1_000_000, ge=1024)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def _common(self) -> dict[str, object]:
        options: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return options

    def producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            acks="all",
            enable_idempotence=self.enable_idempotence,
            max_request_size=self.max_message_bytes,
            linger_ms=1,
            **self._common(),
        )

    def consumer(self, group_id: str | None, **options: object) -> AIOKafkaConsumer:
        settings: dict[str, object] = {
            "group_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_partition_fetch_bytes": self.max_message_bytes * 2,
            **self._common(),
        }
        settings.update(options)
        return AIOKafkaConsumer(**settings)

    def admin(self) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(**self._common())


async def ensure_topics(settings: KafkaSettings, topics: list[str]) -> None:
    """Create topics explicitly with our partition count; existing ones are kept."""
    admin = settings.admin()
    await admin.start()
    try:
        wanted = [
            NewTopic(topic, settings.partitions, settings.replication_factor) for topic in topics
        ]
        try:
            response = await admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            return
        for topic, code, message in _topic_errors(response):
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"cannot create topic {topic}: {message} (error {code})")
    finally:
        await admin.close()


async def anchors_held(
    settings: KafkaSettings, anchors: Mapping[TopicPartition, tuple[int, str]], wait_seconds: float
) -> set[TopicPartition]:
    """The partitions whose anchor, ``(offset, event id)``, is still in the log: the
    message at that offset carries that event id. A partition whose log ends before its
    anchor answers nothing: it is waited for ``wait_seconds`` at most."""
    probe = settings.consumer(None)
    await probe.start()
    try:
        probe.assign(list(anchors))
        for partition, (offset, _) in anchors.items():
            probe.seek(partition, offset)
        unchecked = dict(anchors)
        held: set[TopicPartition] = set()
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while unchecked and (left := deadline - asyncio.get_running_loop().time()) > 0:
            fetched = await probe.getmany(*unchecked, timeout_ms=int(left * 1000), max_records=1)
            for partition, records in fetched.items():
                if records:
                    offset, event_id = unchecked.pop(partition)
                    first = records[0]
                    if (
                        first.offset == offset
                        and dict(first.headers).get("ce_id") == event_id.encode()
                    ):
                        held.add(partition)
        return held
    finally:
        await probe.stop()


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    found = []
    for entry in getattr(response, "topic_errors", []):
        topic, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        found.append((topic, code, message))
    return found
