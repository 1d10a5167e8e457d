"""Business time: opening hours, holidays, time zones and DST days."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.workorders.domain.calendar import Calendar

HOUR = 3600.0
OFFICE = {d: ((9 * 60, 17 * 60),) for d in range(5)}  # Monday-Friday 09:00-17:00


def test_around_the_clock_counts_real_time():
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert Calendar().add(start, 2 * HOUR) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert Calendar().business_seconds(start, datetime(2026, 11, 24, 8, tzinfo=UTC)) == 24 * HOUR


def test_office_hours_skip_nights_and_weekends():
    paris = Calendar(zone="Europe/Paris", hours=OFFICE)
    friday_4pm = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 16:00 in Paris (UTC+1)
    # one hour on Friday, one on Monday from 09:00 Paris (08:00 UTC)
    assert paris.add(friday_4pm, 2 * HOUR) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert paris.business_seconds(friday_4pm, datetime(2026, 11, 30, 9, tzinfo=UTC)) == 2 * HOUR
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert paris.add(saturday, 0) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_holidays_are_closed():
    paris = Calendar(zone="Europe/Paris", hours=OFFICE, holidays=frozenset({date(2026, 12, 25)}))
    thursday_4pm = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
    # Christmas Friday is skipped: the second hour is on Monday 28th
    assert paris.add(thursday_4pm, 2 * HOUR) == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


def test_the_spring_forward_night_has_23_hours():
    paris = Calendar(zone="Europe/Paris")
    saturday_10pm = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # 22:00 CET
    due = paris.add(saturday_10pm, 8 * HOUR)
    assert due == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 07:00 CEST: eight real hours
    assert paris.business_seconds(datetime(2026, 3, 28, 23, tzinfo=UTC),
                                  datetime(2026, 3, 29, 22, tzinfo=UTC)) == 23 * HOUR  # fmt: skip


def test_office_hours_follow_the_wall_clock_across_dst():
    paris = Calendar(zone="Europe/Paris", hours=OFFICE)
    friday_4pm = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # 16:00 CET (UTC+1)
    # Monday 30th opens at 09:00 CEST, which is 07:00 UTC
    assert paris.add(friday_4pm, 2 * HOUR) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_the_fall_back_day_has_25_hours():
    paris = Calendar(zone="Europe/Paris")
    day_start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # Sunday 25th, 00:00 CEST
    day_end = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Monday 26th, 00:00 CET
    assert paris.business_seconds(day_start, day_end) == 25 * HOUR


def test_bad_calendars_are_refused():
    with pytest.raises(ValueError, match="within a day"):
        Calendar(hours={0: ((600, 1500),)})
    with pytest.raises(ValueError, match="some opening hours"):
        Calendar(hours={})
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo's own error
        Calendar(zone="Mars/Olympus")


def test_json_round_trip():
    calendar = Calendar(zone="Asia/Shanghai", hours=OFFICE, holidays=frozenset({date(2026, 10, 1)}))
    assert Calendar.from_json(calendar.to_json()) == calendar


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC)),
    seconds=st.floats(min_value=0, max_value=200 * HOUR),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Shanghai", "UTC"]),
)  # fmt: skip
def test_adding_business_time_and_measuring_it_agree(start, seconds, zone):
    calendar = Calendar(zone=zone, hours=OFFICE, holidays=frozenset({date(2026, 12, 25)}))
    due = calendar.add(start, seconds)
    assert due >= start
    assert calendar.business_seconds(start, due) == pytest.approx(seconds, abs=1e-3)


def test_a_calendar_without_hours_is_around_the_clock():
    assert Calendar.from_json({}) == Calendar()
    assert Calendar.from_json({"zone": "Asia/Shanghai"}).hours == Calendar().hours
