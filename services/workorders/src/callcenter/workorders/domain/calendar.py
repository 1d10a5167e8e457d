"""Business-hours calendars: weekly opening hours, holidays, a time zone.

SLA targets are counted in business time. Opening hours are wall-clock times in
the calendar's zone (``zoneinfo``), converted to UTC per day, so a day that
loses or gains an hour (DST) counts the hours it really has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# Weekday (0 = Monday) -> opening intervals in minutes after local midnight (end <= 1440).
Hours = dict[int, tuple[tuple[int, int], ...]]

ALWAYS: Hours = {day: ((0, 1440),) for day in range(7)}
MAX_DAYS = 3660  # a calendar with no opening hours at all would otherwise loop forever


@dataclass(frozen=True)
class Calendar:
    zone: str = "UTC"
    hours: Hours = field(default_factory=lambda: dict(ALWAYS))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        ZoneInfo(self.zone)  # raises for an unknown zone
        for day, intervals in self.hours.items():
            if day not in range(7):
                raise ValueError(f"weekday {day} is not 0 (Monday) .. 6 (Sunday)")
            for start, end in intervals:
                if not 0 <= start < end <= 1440:
                    raise ValueError(f"opening interval {start}-{end} is not within a day")
        if not any(self.hours.values()):
            raise ValueError("a calendar needs some opening hours")

    def to_json(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "hours": {str(day): [list(i) for i in ints] for day, ints in self.hours.items()},
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calendar:
        """Absent hours mean around the clock, as for ``Calendar()``."""
        hours = data.get("hours")
        return cls(
            zone=data.get("zone", "UTC"),
            hours=dict(ALWAYS)
            if hours is None
            else {
                int(day): tuple((int(s), int(e)) for s, e in ints) for day, ints in hours.items()
            },
            holidays=frozenset(date.fromisoformat(d) for d in data.get("holidays", [])),
        )

    def _open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (UTC) that end after ``start``, in order."""
        zone = ZoneInfo(self.zone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        for _ in range(MAX_DAYS):
            if day not in self.holidays:
                midnight = datetime.combine(day, time.min, tzinfo=zone)
                for open_minute, close_minute in self.hours.get(day.weekday(), ()):
                    opens = _wall(midnight, open_minute)
                    closes = _wall(midnight, close_minute)
                    if closes > start:
                        yield max(opens, start), closes
            day += timedelta(days=1)
        raise ValueError("the calendar has no opening hours within ten years")

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Business time between two instants."""
        if end <= start:
            return 0.0
        total = 0.0
        for opens, closes in self._open_intervals(start):
            if opens >= end:
                break
            total += (min(closes, end) - opens).total_seconds()
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which ``seconds`` of business time after ``start`` have passed."""
        remaining = max(seconds, 0.0)
        for opens, closes in self._open_intervals(start):
            length = (closes - opens).total_seconds()
            if remaining <= length:
                return opens + timedelta(seconds=remaining)
            remaining -= length
        raise AssertionError("unreachable")  # pragma: no cover


def _wall(midnight: datetime, minutes: int) -> datetime:
    """Local wall-clock ``minutes`` after ``midnight``, as UTC (24:00 is the next midnight)."""
    local = datetime.combine(
        midnight.date() + timedelta(days=minutes // 1440),
        time(minutes % 1440 // 60, minutes % 60),
        tzinfo=midnight.tzinfo,
    )
    return local.astimezone(UTC)
