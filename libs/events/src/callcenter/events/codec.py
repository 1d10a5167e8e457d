"""How an envelope travels: Kafka binary content mode and CloudEvents JSON lines.

Kafka binary mode (CloudEvents Kafka protocol binding): every attribute is a
``ce_<name>`` header, ``content-type`` is a header, the body is the JSON data,
the key is the stream id. Extension attribute names must be lower-case
alphanumerics, so ``correlation_id`` travels as ``ce_correlationid``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from callcenter.events.catalogue import UnknownEventType
from callcenter.events.envelope import Envelope, envelope_from_parts, format_time

CONTENT_TYPE = "application/json"

# envelope field -> CloudEvents attribute name
ATTRIBUTES: dict[str, str] = {
    "id": "id",
    "source": "source",
    "type": "type",
    "specversion": "specversion",
    "time": "time",
    "subject": "subject",
    "tenant": "tenant",
    "correlation_id": "correlationid",
    "causation_id": "causationid",
    "stream_id": "streamid",
    "stream_version": "streamversion",
    "schema_version": "schemaversion",
}
_FIELDS = {attribute: field for field, attribute in ATTRIBUTES.items()}
REQUIRED = ("id", "source", "type", "specversion", "tenant", "streamid", "streamversion")

Headers = list[tuple[str, bytes]]


class PoisonMessage(ValueError):
    """A message that can never be decoded; it belongs in the dead-letter topic."""


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: Headers


def envelope_attributes(envelope: Envelope) -> dict[str, str]:
    """The envelope's CloudEvents attributes as text, by attribute name."""
    attributes: dict[str, str] = {}
    for field, attribute in ATTRIBUTES.items():
        value = getattr(envelope, field)
        if value is not None:
            attributes[attribute] = format_time(value) if field == "time" else str(value)
    return attributes


def encode(key: str, attributes: dict[str, str], data: dict[str, Any]) -> KafkaRecord:
    headers: Headers = [("content-type", CONTENT_TYPE.encode())]
    headers += [(f"ce_{name}", value.encode()) for name, value in attributes.items()]
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return KafkaRecord(key.encode(), body.encode(), headers)


def to_kafka(envelope: Envelope) -> KafkaRecord:
    return encode(envelope.stream_id, envelope_attributes(envelope), envelope.data_json())


def header_attributes(headers: Any) -> dict[str, str]:
    """The CloudEvents attributes found in Kafka headers, by attribute name."""
    found: dict[str, str] = {}
    for name, raw in headers or ():
        if isinstance(name, str) and name.startswith("ce_") and raw is not None:
            try:
                found[name[3:]] = raw.decode()
            except UnicodeDecodeError:
                raise PoisonMessage(f"header {name} is not UTF-8") from None
    return found


def decode(attributes: dict[str, str], data: Any) -> Envelope:
    """Build an envelope from CloudEvents attributes and data, upcasting the data."""
    missing = [name for name in REQUIRED if not attributes.get(name)]
    if missing:
        raise PoisonMessage(f"missing CloudEvents attributes: {', '.join(missing)}")
    if attributes["specversion"] != "1.0":
        raise PoisonMessage(f"unsupported specversion {attributes['specversion']!r}")
    if not isinstance(data, dict):
        raise PoisonMessage("data is not a JSON object")
    fields = {_FIELDS[name]: value for name, value in attributes.items() if name in _FIELDS}
    fields.setdefault("correlation_id", attributes["id"])
    try:
        return envelope_from_parts(fields, data)
    except UnknownEventType:
        raise
    except ValidationError as error:
        raise PoisonMessage(f"{attributes['type']}: {_first_errors(error)}") from None
    except ValueError as error:
        raise PoisonMessage(f"{attributes['type']}: {error}") from None


def _first_errors(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def from_kafka(value: bytes | None, headers: Any) -> Envelope:
    """Decode a Kafka message; raises ``PoisonMessage`` or ``UnknownEventType``."""
    attributes = header_attributes(headers)
    if value is None:
        raise PoisonMessage("empty message body")
    try:
        # Decoded first: json.loads would also take UTF-16 and UTF-32 bytes.
        data = json.loads(value.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"body is not JSON: {error}") from None
    return decode(attributes, data)


def to_json_line(envelope: Envelope) -> str:
    """Structured-mode CloudEvents JSON, one line: the export format."""
    document: dict[str, Any] = dict(envelope_attributes(envelope))
    document["datacontenttype"] = CONTENT_TYPE
    document["data"] = envelope.data_json()
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def from_json_line(line: str) -> Envelope:
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        raise PoisonMessage(f"line is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise PoisonMessage("line is not a JSON object")
    data = document.pop("data", None)
    attributes = {key: str(value) for key, value in document.items() if value is not None}
    return decode(attributes, data)
