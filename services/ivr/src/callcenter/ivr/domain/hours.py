"""Business hours: a weekly calendar with holidays, in the tenant's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.ivr.domain.flow import HoursNode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_open(node: HoursNode, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(node.timezone))
    if local.date() in node.holidays:
        return False
    moment = local.time().replace(tzinfo=None)
    intervals = node.weekly.get(WEEKDAYS[local.weekday()], [])  # type: ignore[call-overload]
    return any(interval.start <= moment < interval.end for interval in intervals)
