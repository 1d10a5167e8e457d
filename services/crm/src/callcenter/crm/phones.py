"""Phone numbers as E.164, read with the tenant's region when written nationally."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str) -> str:
    """``"06 28 12 34 56"`` (region FR) and ``"+33 6 28 12 34 56"`` are ``"+33628123456"``."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"is not a valid phone number (read with region {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_or_none(raw: str, region: str) -> str | None:
    try:
        return to_e164(raw, region)
    except InvalidPhone:
        return None
