"""Same-weekday forecasts from interval history, their fallback, and the staffing table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.analytics.forecast import (
    NoHistory,
    PastInterval,
    forecast_day,
    staffing_table,
)

MONDAY = date(2026, 11, 23)


def at(day: date, hour: int, minute: int = 0, tz=UTC) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def weeks_before(day: date, weeks: int) -> date:
    return day - timedelta(weeks=weeks)


def interval(forecast, hour: int, minute: int = 0):
    (found,) = [i for i in forecast.intervals if (i.start.hour, i.start.minute) == (hour, minute)]
    return found


def test_the_same_weekday_of_the_last_weeks_is_averaged():
    history = [
        PastInterval(at(weeks_before(MONDAY, 1), 9), offered=100, aht_seconds=200),
        PastInterval(at(weeks_before(MONDAY, 2), 9), offered=120, aht_seconds=170),
        PastInterval(at(weeks_before(MONDAY, 3), 9), offered=80, aht_seconds=180),
        PastInterval(at(weeks_before(MONDAY, 4), 9), offered=100, aht_seconds=180),
        # Five weeks back is out of the window; a Sunday is another weekday.
        PastInterval(at(weeks_before(MONDAY, 5), 9), offered=1000, aht_seconds=600),
        PastInterval(at(MONDAY - timedelta(days=1), 9), offered=1000, aht_seconds=600),
    ]

    forecast = forecast_day(history, MONDAY, weeks=4)

    assert forecast.basis == "same-weekday"
    assert forecast.days == tuple(weeks_before(MONDAY, n) for n in (4, 3, 2, 1))
    nine = interval(forecast, 9)
    assert nine.start == at(MONDAY, 9)
    assert nine.calls == 100  # (100 + 120 + 80 + 100) / 4
    # AHT weighs each week by its calls: total handle time over total calls.
    assert nine.aht_seconds == pytest.approx((100 * 200 + 120 * 170 + 80 * 180 + 100 * 180) / 400)
    assert len(forecast.intervals) == 48
    assert forecast.intervals[0].start == at(MONDAY, 0)
    assert forecast.intervals[-1].start == at(MONDAY, 23, 30)


def test_an_interval_without_calls_on_a_day_with_history_counts_as_zero():
    history = [
        PastInterval(at(weeks_before(MONDAY, 1), 9), offered=60, aht_seconds=240),
        PastInterval(at(weeks_before(MONDAY, 2), 10), offered=30, aht_seconds=120),
    ]

    forecast = forecast_day(history, MONDAY)

    assert interval(forecast, 9).calls == 30
    assert interval(forecast, 10).calls == 15
    assert interval(forecast, 3).calls == 0
    # A silent interval takes the days' overall AHT: (60 x 240 + 30 x 120) / 90.
    assert interval(forecast, 3).aht_seconds == 200


def test_a_weekday_without_history_falls_back_to_every_day_of_the_window():
    tuesday, wednesday = MONDAY - timedelta(days=6), MONDAY - timedelta(days=5)
    history = [
        PastInterval(at(tuesday, 9), offered=40, aht_seconds=180),
        PastInterval(at(wednesday, 9), offered=20, aht_seconds=180),
    ]

    forecast = forecast_day(history, MONDAY)

    assert forecast.basis == "all-days"
    assert forecast.days == (tuesday, wednesday)
    assert interval(forecast, 9).calls == 30


def test_no_history_before_the_day_is_refused():
    on_the_day = [PastInterval(at(MONDAY, 9), offered=10, aht_seconds=100)]
    with pytest.raises(NoHistory, match="no history in the 4 weeks before 2026-11-23"):
        forecast_day(on_the_day, MONDAY)
    with pytest.raises(NoHistory):
        forecast_day([], MONDAY)


def test_finer_history_adds_up_into_the_forecast_interval():
    last_week = weeks_before(MONDAY, 1)
    history = [
        PastInterval(at(last_week, 9, 0), offered=10, aht_seconds=100),
        PastInterval(at(last_week, 9, 15), offered=30, aht_seconds=300),
    ]

    hourly = forecast_day(history, MONDAY, interval_minutes=60)

    assert len(hourly.intervals) == 24
    assert interval(hourly, 9).calls == 40
    assert interval(hourly, 9).aht_seconds == 250


def test_intervals_are_local_wall_clock_times():
    paris = ZoneInfo("Europe/Paris")
    # 08:00 UTC is 09:00 in Paris in November.
    history = [PastInterval(at(weeks_before(MONDAY, 1), 8), offered=50, aht_seconds=100)]

    forecast = forecast_day(history, MONDAY, tz=paris)

    nine = interval(forecast, 9)
    assert nine.calls == 50
    assert nine.start == at(MONDAY, 9, tz=paris)
    assert nine.start.astimezone(UTC) == at(MONDAY, 8)


@pytest.mark.parametrize("arguments", [{"interval_minutes": 7}, {"interval_minutes": 0},
                                       {"weeks": 0}])  # fmt: skip
def test_an_interval_that_does_not_divide_the_day_or_no_week_is_refused(arguments):
    history = [PastInterval(at(weeks_before(MONDAY, 1), 9), offered=1, aht_seconds=1)]
    with pytest.raises(ValueError):
        forecast_day(history, MONDAY, **arguments)


def test_naive_history_is_refused():
    naive = [PastInterval(datetime(2026, 11, 16, 9), offered=1, aht_seconds=1)]
    with pytest.raises(ValueError, match="timezone-aware"):
        forecast_day(naive, MONDAY)


@settings(max_examples=30, deadline=None)
@given(
    pattern=st.dictionaries(
        st.integers(0, 47), st.tuples(st.integers(0, 500), st.integers(30, 900)), min_size=1
    ),
    weeks=st.integers(1, 6),
)
def test_a_week_that_repeats_forecasts_itself(pattern, weeks):
    history = [
        PastInterval(
            at(weeks_before(MONDAY, week), 0) + timedelta(minutes=30 * slot),
            offered=offered,
            aht_seconds=aht,
        )
        for week in range(1, weeks + 1)
        for slot, (offered, aht) in pattern.items()
    ]

    forecast = forecast_day(history, MONDAY, weeks=weeks)

    assert len(forecast.days) == weeks
    for slot, predicted in enumerate(forecast.intervals):
        offered, aht = pattern.get(slot, (0, None))
        assert predicted.calls == pytest.approx(offered)
        if offered:
            assert predicted.aht_seconds == pytest.approx(aht)


def test_the_staffing_table_sizes_each_interval():
    last_week = weeks_before(MONDAY, 1)
    history = [
        PastInterval(at(last_week, 9), offered=100, aht_seconds=180),  # 10 erlangs
        PastInterval(at(last_week, 9, 30), offered=200, aht_seconds=180),  # 20 erlangs
    ]
    forecast = forecast_day(history, MONDAY)

    table = staffing_table(
        forecast, target_answer_seconds=20, target_service_level=0.8, shrinkage=0.3
    )

    assert len(table) == 48
    by_start = {row.start: row for row in table}
    nine = by_start[at(MONDAY, 9)]
    assert (nine.calls, nine.aht_seconds) == (100, 180)
    assert (nine.agents, nine.agents_with_shrinkage) == (14, 20)
    assert nine.service_level == pytest.approx(0.8884, abs=1e-4)
    half_past = by_start[at(MONDAY, 9, 30)]
    assert half_past.agents == 24  # twice the traffic takes fewer than twice the agents
    assert half_past.service_level >= 0.8
    night = by_start[at(MONDAY, 3)]
    assert (night.calls, night.agents, night.agents_with_shrinkage) == (0, 0, 0)
    assert night.service_level is None


def test_the_staffing_table_respects_a_max_occupancy():
    history = [PastInterval(at(weeks_before(MONDAY, 1), 9), offered=100, aht_seconds=180)]

    table = staffing_table(
        forecast_day(history, MONDAY),
        target_answer_seconds=20,
        target_service_level=0.8,
        max_occupancy=0.7,
    )

    assert {row.agents for row in table} == {0, 15}
