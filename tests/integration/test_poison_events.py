"""Poison messages on every topic every service consumes: each lands in the
dead-letter topic with a reason naming its problem, and the consumer goes on to
apply the valid event behind them on the same partition.

The topics come from the consumers the services' apps register, the event types
from the catalogue (each type's module names its writer's topic), so a new
consumer, topic or type is covered without touching this file."""

from __future__ import annotations

import asyncio
import time
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import AwareDatetime, ValidationError
from sqlalchemy import select

from callcenter.events import store
from callcenter.events.bus import DLQ_TOPIC, KafkaSettings, ensure_topics
from callcenter.events.catalogue import Event, registry
from callcenter.events.codec import Headers, envelope_attributes, to_kafka
from callcenter.events.consumer import Consumer
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope
from tests.integration.test_service_kit import SERVICES, make_app

pytestmark = pytest.mark.broker

# Small, so that an over-large message is cheap to send; the consumer's check is the same.
MAX_MESSAGE_BYTES = 64 * 1024
PARTITION = 0  # every message of a topic on one partition: the valid event comes last
WITHIN_SECONDS = 30.0


@dataclass(frozen=True)
class Message:
    case: str
    value: bytes | None
    headers: Headers
    reason: str | None  # a part of its dead letter's reason; None: not dead-lettered


def event_types_on(topic: str) -> list[type[Event]]:
    """The catalogue's types written to ``topic`` (a type's module is its writer)."""
    writer = topic.removeprefix("callcenter.")
    models = [registry.model(name) for name in registry.names()]
    return [model for model in models if model.__module__.rsplit(".", 1)[-1] == writer]


def placeholder(annotation: object) -> object:
    """A valid value of a field's type: its first choice, one, a placeholder text, empty."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if annotation in (AwareDatetime, datetime):
        return datetime.now(UTC)
    simple = {str: "poison-test", int: 1, float: 1.0, bool: False}
    if annotation in simple:
        return simple[annotation]
    return {list: [], dict: {}}.get(origin)


def sample_event(topic: str) -> Event:
    """The first type of the topic that its required fields' placeholders make valid."""
    for model in event_types_on(topic):
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        values = {name: placeholder(model.model_fields[name].annotation) for name in required}
        try:
            return model(**values)
        except ValidationError:
            continue
    raise AssertionError(f"no event type of {topic} can be built from placeholders")


STREAM_HEADERS = {"ce_streamid", "ce_streamversion"}


def sample_stream(topic: str, case: str) -> str:
    return f"{topic}-{case}"


def messages_for(topic: str) -> list[Message]:
    """Each kind of poison, an unknown type (skipped, not poison), then a valid event;
    each on a stream of its own."""
    sample = sample_event(topic)
    kind = sample.event_type
    first_required = next(
        name for name, field in type(sample).model_fields.items() if field.is_required()
    )

    def record(case: str, **changes: str):
        envelope = new_envelope(
            sample, source="poison-test", tenant="acme", stream_id=sample_stream(topic, case),
            stream_version=1, correlation_id=case,
        )  # fmt: skip
        attributes = {**envelope_attributes(envelope), **changes}
        headers = [("content-type", b"application/json")]
        headers += [(f"ce_{name}", value.encode()) for name, value in attributes.items()]
        return to_kafka(envelope).value, headers

    def poison(case: str, reason: str, value: bytes | None = None, **changes: str) -> Message:
        body, headers = record(case, **changes)
        return Message(case, body if value is None else value, headers, reason)

    body, headers = record("valid")
    _, all_headers = record("only-stream-headers")
    stream_only = [(name, value) for name, value in all_headers if name in STREAM_HEADERS]
    oversized = b'{"padding": "' + b"x" * MAX_MESSAGE_BYTES + b'"}'
    return [
        poison("not-json", "body is not JSON", b"\x00\x01 not json"),
        poison("truncated-json", "body is not JSON", body[: len(body) // 2]),
        poison("not-an-object", "data is not a JSON object", b"[1, 2, 3]"),
        poison("wrong-schema", f"{kind}: {first_required}: Field required", b'{"unexpected": 1}'),
        poison("future-schema-version", "schema version 99", schemaversion="99"),
        poison("non-numeric-schema-version", "schema version 'two'", schemaversion="two"),
        poison("zero-schema-version", "schema version '0'", schemaversion="0"),
        poison("bad-time", "time: ", time="yesterday"),
        poison("wrong-specversion", "specversion", specversion="0.3"),
        poison("oversized", "too large", oversized),
        Message("no-ce-headers", body, [], "ce_streamid"),
        Message("only-stream-headers", body, stream_only, "missing CloudEvents attributes"),
        Message("empty-body", None, record("empty-body")[1], "empty message body"),
        Message(
            "non-utf8-header",
            body,
            [*record("non-utf8-header")[1], ("ce_subject", b"\xff")],
            "header ce_subject is not UTF-8",
        ),
        Message("unknown-type", *record("unknown-type", type="SomethingFromTheFuture"), None),
        Message("valid", body, headers, None),
    ]


@dataclass(frozen=True)
class Sent:
    consumer: str
    topic: str
    offset: int
    message: Message


async def produce(kafka: KafkaSettings, consumers: list[Consumer]) -> list[Sent]:
    """Every message on every topic the consumers read, with a plain aiokafka producer."""
    topics = sorted({topic for consumer in consumers for topic in consumer.topics})
    await ensure_topics(kafka, [*topics, kafka.topic(DLQ_TOPIC)])
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, max_request_size=4 * MAX_MESSAGE_BYTES
    )
    await producer.start()
    sent = []
    try:
        for topic in topics:
            for message in messages_for(topic.removeprefix(kafka.topic_prefix)):
                metadata = await producer.send_and_wait(
                    topic,
                    message.value,
                    key=message.case.encode(),  # a tombstone needs a key
                    partition=PARTITION,
                    headers=message.headers,
                )
                sent += [
                    Sent(consumer.name, topic, metadata.offset, message)
                    for consumer in consumers
                    if topic in consumer.topics
                ]
    finally:
        await producer.stop()
    return sent


async def dead_letters(kafka: KafkaSettings, expected: int) -> dict[tuple[str, str, int], str]:
    """The DLQ's reasons by (consumer, topic, offset), once ``expected`` have come."""
    reader = kafka.consumer(None)
    await reader.start()
    reader.subscribe([kafka.topic(DLQ_TOPIC)])
    found: dict[tuple[str, str, int], str] = {}
    deadline = time.monotonic() + WITHIN_SECONDS
    try:
        while time.monotonic() < deadline and len(found) < expected:
            for records in (await reader.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = {
                        name: value.decode(errors="replace") for name, value in record.headers
                    }
                    key = (
                        headers["dlq_consumer"],
                        headers["dlq_topic"],
                        int(headers["dlq_offset"]),
                    )
                    found[key] = headers["dlq_reason"]
    finally:
        await reader.stop()
    return found


async def streams_reached(database_url: str) -> dict[tuple[str, str], int]:
    """What the consumers recorded as handled: version by (consumer, stream)."""
    db = Database(database_url)
    table = store.consumer_streams
    try:
        async with db.read() as conn:
            rows = await conn.execute(select(table))
            return {(row.consumer, row.stream_id): row.version for row in rows}
    finally:
        await db.dispose()


def consumed(client: TestClient) -> dict[tuple[str, str], float]:
    """The service's counts of consumed messages by (consumer, outcome), from /metrics."""
    counts = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "callcenter_consumer_events_total":
                counts[(sample.labels["consumer"], sample.labels["outcome"])] = sample.value
    return counts


def valid_stream(kafka: KafkaSettings, topic: str) -> str:
    return sample_stream(topic.removeprefix(kafka.topic_prefix), "valid")


async def wait_for_streams(
    kafka: KafkaSettings, database_url: str, valid: list[Sent]
) -> dict[tuple[str, str], int]:
    """The streams the consumers handled, once each has handled its valid event."""
    wanted = {(item.consumer, valid_stream(kafka, item.topic)) for item in valid}
    deadline = time.monotonic() + WITHIN_SECONDS
    while True:
        reached = await streams_reached(database_url)
        if wanted <= set(reached) or time.monotonic() > deadline:
            return reached
        await asyncio.sleep(0.2)


def counted_since(
    client: TestClient, before: dict[tuple[str, str], float], wanted: dict[tuple[str, str], int]
) -> dict[tuple[str, str], float]:
    """The counts of ``wanted`` since ``before``, once they reach it (they move just
    after the batch's commit)."""
    deadline = time.monotonic() + WITHIN_SECONDS
    while True:
        now = consumed(client)
        counted = {key: now.get(key, 0) - before.get(key, 0) for key in wanted}
        if counted == wanted or time.monotonic() > deadline:
            return counted
        time.sleep(0.1)


@pytest.mark.parametrize("name", SERVICES)
def test_poison_on_every_topic_is_dead_lettered_and_the_consumer_goes_on(
    name, database_url, kafka, tmp_path: Path
):
    kafka = kafka.model_copy(update={"max_message_bytes": MAX_MESSAGE_BYTES})
    app = make_app(name, database_url, kafka, tmp_path)
    consumers: list[Consumer] = app.state.runtime.consumers
    assert consumers, f"{name} consumes nothing: nothing to poison"

    with TestClient(app) as client:
        before = consumed(client)
        sent = asyncio.run(produce(kafka, consumers))
        poisons = [item for item in sent if item.message.reason is not None]
        valid = [item for item in sent if item.message.case == "valid"]
        reasons = asyncio.run(dead_letters(kafka, len(poisons)))
        handled = asyncio.run(wait_for_streams(kafka, database_url, valid))
        # One valid event applied and one unknown type skipped per topic, by each consumer.
        outcomes = {
            (consumer.name, outcome): len(consumer.topics)
            for consumer in consumers
            for outcome in ("applied", "unknown_type")
        }
        counted = counted_since(client, before, outcomes)

    # Each poison message in the DLQ, its reason naming its problem; nothing else there.
    for item in poisons:
        reason = reasons.get((item.consumer, item.topic, item.offset))
        assert reason is not None, (
            f"{item.consumer}: {item.message.case} on {item.topic} not in DLQ"
        )
        assert item.message.reason in reason, f"{item.message.case}: {reason!r}"
    assert len(reasons) == len(poisons), sorted(reasons.values())
    # The valid event behind them was handled and applied by every consumer of its topic.
    for item in valid:
        assert handled.get((item.consumer, valid_stream(kafka, item.topic))) == 1, item.consumer
    assert counted == outcomes
