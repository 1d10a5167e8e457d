"""Write docs/api/asyncapi.yaml: every topic and event type, generated from the catalogue.

The document is AsyncAPI 3.0. Each event type is a message on its writer's topic
(the catalogue module it is declared in), its payload the JSON schema of its
pydantic model as serialized on the wire, its headers the CloudEvents Kafka
binding attributes (``ce_*``) with ``ce_type`` and ``ce_schemaversion`` fixed.

    python tools/asyncapi.py           # write the file
    python tools/asyncapi.py --check   # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from callcenter.events.bus import DLQ_TOPIC, service_topic
from callcenter.events.catalogue import Event, registry
from callcenter.events.codec import ATTRIBUTES, CONTENT_TYPE, REQUIRED

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "api" / "asyncapi.yaml"
SCHEMAS = "#/components/schemas/"
HEADERS = "CloudEventsKafkaHeaders"

DESCRIPTION = """\
The events the call center platform's services publish to Kafka. One writer per topic:
each service publishes only to its own topic; anyone may subscribe. Analytics publishes
nothing.

Each message is a CloudEvents 1.0 event in Kafka binary content mode: every attribute
is a `ce_<name>` header (`correlation_id` travels as `ce_correlationid`), the
`content-type` header is `application/json`, the body is the event's data as JSON and
the key is the stream id, so a stream's events stay in order on one partition.
Delivery is at-least-once: deduplicate by `ce_streamid` and `ce_streamversion` (every
stream starts at 1 and has no gap). Skip types you do not know (forward compatibility);
additive fields may appear in any version. Data written in an older schema version
(`ce_schemaversion`) is upcast by the catalogue's upcasters when read with this library.

Generated from the event catalogue (libs/events/src/callcenter/events/catalogue) by
tools/asyncapi.py: never edit by hand."""

HEADER_DESCRIPTIONS = {
    "id": "Unique event id (UUID).",
    "source": "The service that wrote the event, e.g. `callcenter/routing`.",
    "type": "The event type: the message name.",
    "specversion": "CloudEvents version: `1.0`.",
    "time": "When the event was written: UTC ISO-8601 with microseconds and `Z`.",
    "subject": "What the event is about, when the writer names it.",
    "tenant": "The tenant the event belongs to.",
    "correlationid": "The call or case that started the chain of events.",
    "causationid": "The id of the event that caused this one.",
    "streamid": "The stream (aggregate) the event belongs to; also the Kafka key.",
    "streamversion": "Position in the stream, from 1, without gaps.",
    "schemaversion": "The version of the data's schema as written.",
}


def topics() -> dict[str, list[type[Event]]]:
    """Event models by the topic their writer publishes to (their catalogue module)."""
    found: dict[str, list[type[Event]]] = {}
    for name in registry.names():
        model = registry.model(name)
        writer = model.__module__.rsplit(".", 1)[-1]
        found.setdefault(writer, []).append(model)
    return dict(sorted(found.items()))


def _cloudevents_headers() -> dict[str, Any]:
    properties: dict[str, Any] = {"content-type": {"type": "string", "const": CONTENT_TYPE}}
    for attribute in ATTRIBUTES.values():
        schema = {"type": "string", "description": HEADER_DESCRIPTIONS[attribute]}
        properties[f"ce_{attribute}"] = schema
    properties["ce_specversion"]["const"] = "1.0"
    return {
        "type": "object",
        "required": ["content-type", *(f"ce_{name}" for name in REQUIRED)],
        "properties": properties,
    }


def _headers(model: type[Event]) -> dict[str, Any]:
    fixed = {
        "ce_type": {"type": "string", "const": model.event_type},
        "ce_schemaversion": {"type": "string", "const": str(model.schema_version)},
    }
    return {"allOf": [{"$ref": f"{SCHEMAS}{HEADERS}"}, {"properties": fixed}]}


def _message(model: type[Event]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": model.event_type,
        "title": model.event_type,
        "contentType": CONTENT_TYPE,
        "headers": _headers(model),
        "payload": {"$ref": f"{SCHEMAS}{model.event_type}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The stream id (ce_streamid)."},
                "bindingVersion": "0.5.0",
            }
        },
        "x-schema-version": model.schema_version,
    }
    # Only the model's own docstring (pydantic models inherit none worth showing).
    doc = model.__dict__.get("__doc__")
    if doc:
        text = inspect.cleandoc(doc)
        message["summary"] = text.splitlines()[0]
        message["description"] = text
    return message


DEAD_LETTER = {
    "name": "DeadLetter",
    "title": "DeadLetter",
    "summary": "A message a consumer could not handle, as it arrived, with the reason.",
    "description": (
        "The original key, body and headers (including its `ce_*` attributes), plus the "
        "`dlq_*` headers naming the consumer, the reason and where the message was read. "
        "Every consumer writes here; see docs/operations.md for the runbook."
    ),
    "headers": {
        "type": "object",
        "required": ["dlq_reason", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset"],
        "properties": {
            "dlq_reason": {"type": "string", "description": "Why (at most 1000 bytes)."},
            "dlq_consumer": {"type": "string", "description": "The consumer that gave up."},
            "dlq_topic": {"type": "string", "description": "The topic it was read from."},
            "dlq_partition": {"type": "string", "description": "Its partition (decimal)."},
            "dlq_offset": {"type": "string", "description": "Its offset (decimal)."},
        },
    },
    "payload": {"description": "The original body, byte for byte (usually JSON)."},
}


def build() -> dict[str, Any]:
    by_topic = topics()
    models = [model for group in by_topic.values() for model in group]
    _, schemas = models_json_schema(
        [(model, "serialization") for model in models], ref_template=SCHEMAS + "{model}"
    )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for writer, group in by_topic.items():
        channels[writer] = {
            "address": service_topic(writer),
            "description": f"Events written by the {writer} service (its only writer).",
            "messages": {
                model.event_type: {"$ref": f"#/components/messages/{model.event_type}"}
                for model in group
            },
        }
        operations[f"{writer}Publishes"] = {
            "action": "send",
            "summary": f"The {writer} service's relay publishes its event store, in order.",
            "channel": {"$ref": f"#/channels/{writer}"},
            "messages": [
                {"$ref": f"#/channels/{writer}/messages/{model.event_type}"} for model in group
            ],
        }
        messages |= {model.event_type: _message(model) for model in group}
    channels["dlq"] = {
        "address": DLQ_TOPIC,
        "description": "Dead letters of every consumer.",
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }
    operations["consumersDeadLetter"] = {
        "action": "send",
        "summary": "A consumer sets aside a message it can never handle and goes on.",
        "channel": {"$ref": "#/channels/dlq"},
        "messages": [{"$ref": "#/channels/dlq/messages/DeadLetter"}],
    }
    messages["DeadLetter"] = DEAD_LETTER
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Call center platform events",
            "version": "0.1.0",
            "description": DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kubernetes": {
                "host": "callcenter-kafka-bootstrap:9092",
                "protocol": "kafka",
                "description": "Strimzi's bootstrap service (deploy/k8s/overlays/prod).",
            },
            "sandbox": {
                "host": "localhost:19092",
                "protocol": "kafka",
                "description": "The compose sandbox's broker, from the host (make sandbox).",
            },
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded broker of make run.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {HEADERS: _cloudevents_headers(), **schemas["$defs"]},
        },
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so the descriptions read as written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render() -> str:
    return yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run python tools/asyncapi.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
