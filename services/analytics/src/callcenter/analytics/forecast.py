"""A day's calls per interval forecast from history, and the staffing table it calls for.

Pure functions. The forecast of an interval is the average of the same interval on the
same weekday over the last ``weeks`` weeks (days with history only); a weekday without
history in that window falls back to the average of every day of the window. Intervals are
wall-clock times of the day in ``tz``, so history is bucketed by its local time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from callcenter.analytics import staffing

MINUTES_PER_DAY = 24 * 60


class NoHistory(ValueError):
    """No interval of the window before the forecast day has any history."""


@dataclass(frozen=True)
class PastInterval:
    """One interval of history (all queues summed or one queue, as the caller chooses).

    Rows at a finer granularity than the forecast's (15 minutes for a 30-minute forecast)
    add up into its interval; a coarser row would land whole in its first interval.
    """

    start: datetime  # timezone-aware
    offered: float
    aht_seconds: float


@dataclass(frozen=True)
class IntervalForecast:
    start: datetime
    calls: float
    aht_seconds: float


@dataclass(frozen=True)
class Forecast:
    day: date
    interval_minutes: int
    basis: Literal["same-weekday", "all-days"]
    days: tuple[date, ...]  # the past days averaged
    intervals: tuple[IntervalForecast, ...]


@dataclass(frozen=True)
class StaffingRow:
    start: datetime
    calls: float
    aht_seconds: float
    agents: int
    agents_with_shrinkage: int
    service_level: float | None  # None when no call is expected


def forecast_day(
    history: Iterable[PastInterval],
    day: date,
    *,
    interval_minutes: int = 30,
    weeks: int = 4,
    tz: tzinfo = UTC,
) -> Forecast:
    """Calls and AHT for each interval of ``day`` from the ``weeks`` weeks before it."""
    if interval_minutes <= 0 or MINUTES_PER_DAY % interval_minutes:
        raise ValueError(f"interval_minutes must divide a day: {interval_minutes}")
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1: {weeks}")
    first = day - timedelta(days=weeks * 7)
    calls: dict[tuple[date, int], float] = defaultdict(float)
    handle: dict[tuple[date, int], float] = defaultdict(float)
    for row in history:
        if row.start.tzinfo is None:
            raise ValueError(f"history starts must be timezone-aware: {row.start}")
        local = row.start.astimezone(tz)
        if not first <= local.date() < day:
            continue
        key = (local.date(), (local.hour * 60 + local.minute) // interval_minutes)
        calls[key] += row.offered
        handle[key] += row.offered * row.aht_seconds
    observed = {past for past, _ in calls}
    if not observed:
        raise NoHistory(f"no history in the {weeks} weeks before {day.isoformat()}")
    same_weekday = sorted(past for past in observed if past.weekday() == day.weekday())
    basis: Literal["same-weekday", "all-days"] = "same-weekday" if same_weekday else "all-days"
    days = same_weekday or sorted(observed)
    # A silent interval still needs an AHT for its staffing row: the days' overall one.
    day_calls = sum(calls[key] for key in calls if key[0] in days)
    day_handle = sum(handle[key] for key in handle if key[0] in days)
    overall_aht = day_handle / day_calls if day_calls else 0.0
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    intervals = []
    for slot in range(MINUTES_PER_DAY // interval_minutes):
        slot_calls = sum(calls.get((past, slot), 0.0) for past in days)
        slot_handle = sum(handle.get((past, slot), 0.0) for past in days)
        intervals.append(
            IntervalForecast(
                start=midnight + timedelta(minutes=slot * interval_minutes),
                calls=slot_calls / len(days),
                aht_seconds=slot_handle / slot_calls if slot_calls else overall_aht,
            )
        )
    return Forecast(day, interval_minutes, basis, tuple(days), tuple(intervals))


def staffing_table(
    forecast: Forecast,
    *,
    target_answer_seconds: float,
    target_service_level: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> list[StaffingRow]:
    """Erlang C agents per forecast interval (``staffing.agents_needed``)."""
    interval_seconds = forecast.interval_minutes * 60
    rows = []
    for interval in forecast.intervals:
        traffic = staffing.traffic_erlangs(interval.calls, interval_seconds, interval.aht_seconds)
        agents, level = 0, None
        if traffic > 0:
            needed = staffing.agents_needed(
                traffic,
                interval.aht_seconds,
                target_answer_seconds,
                target_service_level,
                max_occupancy,
            )
            agents, level = needed.agents, needed.service_level
        rows.append(
            StaffingRow(
                start=interval.start,
                calls=interval.calls,
                aht_seconds=interval.aht_seconds,
                agents=agents,
                agents_with_shrinkage=staffing.with_shrinkage(agents, shrinkage),
                service_level=level,
            )
        )
    return rows
