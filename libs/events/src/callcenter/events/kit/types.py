"""Field types that several services' settings and documents share."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


# An IANA time zone name ("Europe/Paris"), checked against the zone database.
TimeZoneName = Annotated[
    str, Field(max_length=64, examples=["Europe/Paris"]), AfterValidator(_known_zone)
]
