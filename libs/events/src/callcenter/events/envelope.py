"""The envelope every event travels in: CloudEvents 1.0 plus our extensions."""

from __future__ import annotations

import functools
import os
import random
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializeAsAny, field_validator

from callcenter.events.catalogue import Event, registry

SPEC_VERSION = "1.0"


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=256)
def format_time(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds and a ``Z``. Remembered: the events appended
    together share their time (a tenth of the cost of formatting it)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_ids = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_ids.seed)
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # the version and variant bits
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def new_event_id() -> str:
    """A random (version 4) UUID in its canonical form, as ``str(uuid.uuid4())`` gives,
    built without the ``UUID`` object (a fifth of the time: every event needs one).

    The bits come from a generator of this module's own, seeded from the system's
    (again in a forked child), not ``os.urandom``: an id must be unique, not secret,
    and ``os.urandom`` releases the GIL. On the SQLite writer's thread, building a
    batch's events, every release handed the GIL to the busy event loop for up to
    the switch interval (5 ms) before the writer got it back. Not the ``random``
    module's shared generator: whoever seeds it (hypothesis does, for each example)
    would make the ids repeat."""
    value = _ids.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET
    hex_ = f"{value:032x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


class Envelope(BaseModel):
    """One event with its metadata.

    ``id``, ``source``, ``type``, ``specversion``, ``time`` and ``subject`` are the
    CloudEvents attributes. ``tenant``, ``correlation_id`` (the call or case that
    started it), ``causation_id`` (the event that caused it), ``stream_id`` and
    ``stream_version`` (its place in its stream, unique together) are ours.
    ``schema_version`` is the version of ``data``'s schema as written.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_event_id, min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    specversion: str = SPEC_VERSION
    time: AwareDatetime = Field(default_factory=utcnow)
    subject: str | None = None
    tenant: str = Field(min_length=1)
    correlation_id: str = Field(min_length=1)
    causation_id: str | None = None
    stream_id: str = Field(min_length=1)
    stream_version: int = Field(ge=1)
    schema_version: int = Field(default=1, ge=1)
    data: SerializeAsAny[Event]

    @field_validator("time")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def data_json(self) -> dict[str, Any]:
        return self.data.model_dump(mode="json")


def new_envelope(
    data: Event,
    *,
    source: str,
    tenant: str,
    stream_id: str,
    stream_version: int,
    correlation_id: str,
    causation_id: str | None = None,
    subject: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    return Envelope(
        source=source,
        type=data.event_type,
        time=time or utcnow(),
        subject=subject,
        tenant=tenant,
        correlation_id=correlation_id,
        causation_id=causation_id,
        stream_id=stream_id,
        stream_version=stream_version,
        schema_version=data.schema_version,
        data=data,
    )


def envelope_from_parts(attributes: dict[str, Any], data: dict[str, Any]) -> Envelope:
    """Rebuild an envelope from stored or transported attributes and raw data.

    The data is upcast from the version it was written in to the current one.
    Raises ``UnknownEventType`` for a type the catalogue does not know and
    pydantic's ``ValidationError`` for data that does not fit its schema.
    """
    event_type = attributes["type"]
    written_version = _written_schema_version(attributes.get("schema_version"))
    model = registry.model(event_type)
    current = registry.upcast(event_type, written_version, data)
    return Envelope(
        **{key: value for key, value in attributes.items() if key != "schema_version"},
        schema_version=model.schema_version,
        data=model.model_validate(current),
    )


def _written_schema_version(written: Any) -> int:
    """The version ``data`` was written in; absent means the first."""
    if written is None or written == "":
        return 1
    try:
        version = int(written)
    except (TypeError, ValueError):
        version = 0
    if version < 1:
        raise ValueError(f"schema version {written!r} is not a positive integer")
    return version
