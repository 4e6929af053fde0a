"""Property tests of the business-time arithmetic (kefu/sla/businesstime.py)."""

import datetime as dt
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.sla import businesstime as bt

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {day: [(9 * 60, 12 * 60), (13 * 60, 18 * 60)] for day in range(5)}


def china_calendar(years=(2026, 2027)) -> bt.Calendar:
    cn = holidays.country_holidays("CN", years=list(years))
    return bt.Calendar(tz=SHANGHAI, week=OFFICE, holidays=frozenset(cn), workdays=frozenset(cn.weekend_workdays))


CHINA = china_calendar()
# hypothesis wants naive bounds and attaches the time zone itself
starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 1),  # noqa: DTZ001
                      timezones=st.just(SHANGHAI))
durations = st.integers(min_value=1, max_value=200 * 3600)


@settings(max_examples=300, deadline=None)
@given(starts, durations)
def test_adding_then_measuring_gives_back_the_duration(start, seconds):
    assert bt.between(CHINA, start, bt.add(CHINA, start, seconds)) == pytest.approx(seconds, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(starts, durations)
def test_adding_then_subtracting_round_trips_to_the_first_working_moment(start, seconds):
    assert bt.subtract(CHINA, bt.add(CHINA, start, seconds), seconds) == bt.add(CHINA, start, 0)


@settings(max_examples=300, deadline=None)
@given(starts, durations)
def test_a_due_time_never_falls_outside_working_hours(start, seconds):
    due = bt.add(CHINA, start, seconds)
    # The due time is inside a working interval or exactly at its end (18:00 sharp).
    assert bt.is_working(CHINA, due - dt.timedelta(microseconds=1))
    assert due.astimezone(SHANGHAI).date() not in CHINA.holidays


@settings(max_examples=200, deadline=None)
@given(starts, durations, durations)
def test_a_pause_stops_the_clock_exactly(start, target, pause_length):
    """Remaining time frozen at a pause and added back at the resume keeps the total working time."""
    due = bt.add(CHINA, start, target)
    paused_at = bt.add(CHINA, start, target // 2)
    remaining = bt.between(CHINA, paused_at, due)
    resumed_at = paused_at + dt.timedelta(seconds=pause_length)
    new_due = bt.add(CHINA, resumed_at, remaining)
    worked = bt.between(CHINA, start, paused_at) + bt.between(CHINA, resumed_at, new_due)
    assert worked == pytest.approx(target, abs=1e-6)
    assert new_due >= due


def test_statutory_holidays_and_make_up_days_of_this_and_next_year():
    # National Day 2026: 1-7 October off; Saturday 10 October is a make-up working day (调休).
    before_holiday = dt.datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    assert bt.add(CHINA, before_holiday, 2 * 3600) == dt.datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)
    friday = dt.datetime(2026, 10, 9, 17, 0, tzinfo=SHANGHAI)
    assert bt.add(CHINA, friday, 2 * 3600) == dt.datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI)
    # Next year's Spring Festival is a holiday too (whatever the make-up days turn out to be).
    spring_festival_2027 = dt.date(2027, 2, 6)
    assert spring_festival_2027 in CHINA.holidays
    assert not bt.is_working(CHINA, dt.datetime(2027, 2, 8, 10, 0, tzinfo=SHANGHAI))


def test_lunch_break_and_weekend_are_skipped():
    friday_1130 = dt.datetime(2026, 11, 20, 11, 30, tzinfo=SHANGHAI)
    assert bt.add(CHINA, friday_1130, 3600) == dt.datetime(2026, 11, 20, 13, 30, tzinfo=SHANGHAI)
    friday_1730 = dt.datetime(2026, 11, 20, 17, 30, tzinfo=SHANGHAI)
    assert bt.add(CHINA, friday_1730, 3600) == dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    assert bt.between(CHINA, friday_1730, dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)) == 3600


def test_calendar_time_counts_every_minute():
    always = bt.always_open(SHANGHAI)
    start = dt.datetime(2026, 10, 1, 23, 50, tzinfo=SHANGHAI)
    assert bt.add(always, start, 30 * 60) == start + dt.timedelta(minutes=30)


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(bt.NoWorkingTime):
        bt.add(bt.Calendar(tz=SHANGHAI, week={}), dt.datetime(2026, 1, 1, tzinfo=SHANGHAI), 60)
