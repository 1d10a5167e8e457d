"""Field types that several services' settings and documents share."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, field_validator


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


class TextModel(BaseModel):
    """A request body stored as text columns: PostgreSQL text cannot hold NUL (0x00), so a
    string with one is bad input (422 naming the field), not a server error."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character")
        return value
