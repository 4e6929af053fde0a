"""Business-time arithmetic on a working calendar. Pure: no Django, no database.

A calendar is a time zone, the working intervals of each weekday (minutes after local midnight), the
dates that are not worked (holidays) and the weekend dates that are (make-up working days, 调休, worked
with the hours of a normal Monday). All datetimes in and out are timezone-aware; durations are real
elapsed seconds inside working intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

Interval = tuple[int, int]  # minutes after local midnight, start < end <= 1440

MAX_DAYS = 3 * 366  # a calendar with no working time in three years is a configuration error


class NoWorkingTime(ValueError):
    pass


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    week: Mapping[int, Sequence[Interval]]  # weekday (Monday = 0) -> working intervals
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def intervals_on(self, day: dt.date) -> Sequence[Interval]:
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.week.get(0) or ()
        return self.week.get(day.weekday()) or ()


ALWAYS = {weekday: [(0, 1440)] for weekday in range(7)}


def always_open(tz: ZoneInfo) -> Calendar:
    """Calendar time: every minute counts."""
    return Calendar(tz=tz, week=ALWAYS)


def _local(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
    base = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    # Via UTC so that a day with a daylight-saving change still counts real minutes.
    return (base.astimezone(dt.UTC) + dt.timedelta(minutes=minute)).astimezone(tz)


def _windows(
    calendar: Calendar, start: dt.datetime, backwards: bool = False
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Working windows from `start` on (or before it, newest first), clipped to `start`."""
    local = start.astimezone(calendar.tz)
    day = local.date()
    for offset in range(MAX_DAYS):
        current = day - dt.timedelta(days=offset) if backwards else day + dt.timedelta(days=offset)
        intervals = list(calendar.intervals_on(current))
        for begin, end in reversed(intervals) if backwards else intervals:
            window_start, window_end = _local(current, begin, calendar.tz), _local(current, end, calendar.tz)
            if backwards:
                if window_start >= start:
                    continue
                yield window_start, min(window_end, start)
            else:
                if window_end <= start:
                    continue
                yield max(window_start, start), window_end
    raise NoWorkingTime("the calendar has no working time within three years")


def add(calendar: Calendar, start: dt.datetime, seconds: float) -> dt.datetime:
    """The moment `seconds` of working time after `start`."""
    if seconds < 0:
        return subtract(calendar, start, -seconds)
    remaining = dt.timedelta(seconds=seconds)
    for window_start, window_end in _windows(calendar, start):
        length = window_end - window_start
        if remaining <= length:
            if remaining == dt.timedelta(0):
                return window_start if window_start > start else start
            return window_start + remaining
        remaining -= length
    raise AssertionError("unreachable")


def subtract(calendar: Calendar, end: dt.datetime, seconds: float) -> dt.datetime:
    """The moment `seconds` of working time before `end`."""
    remaining = dt.timedelta(seconds=seconds)
    for window_start, window_end in _windows(calendar, end, backwards=True):
        length = window_end - window_start
        if remaining <= length:
            return window_end - remaining
        remaining -= length
    raise AssertionError("unreachable")


def between(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> float:
    """Working seconds from `start` to `end` (negative when `end` is earlier)."""
    if end < start:
        return -between(calendar, end, start)
    total = dt.timedelta(0)
    for window_start, window_end in _windows(calendar, start):
        if window_start >= end:
            break
        total += min(window_end, end) - window_start
    return total.total_seconds()


def is_working(calendar: Calendar, moment: dt.datetime) -> bool:
    local = moment.astimezone(calendar.tz)
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
    return any(begin <= minute < end for begin, end in calendar.intervals_on(local.date()))


def week_problems(week: Mapping[str, object]) -> list[str]:
    """What is wrong with a working week written as {"0": [[540, 720], …], …} (empty when nothing)."""
    problems = []
    for day, intervals in week.items():
        if day not in {str(n) for n in range(7)}:
            problems.append(f"weekday {day!r} is not 0–6")
            continue
        if not isinstance(intervals, list):
            problems.append(f"weekday {day}: expected a list of [start, end]")
            continue
        previous_end = -1
        for interval in intervals:
            if not (isinstance(interval, list | tuple) and len(interval) == 2
                    and all(isinstance(v, int) for v in interval)):
                problems.append(f"weekday {day}: {interval!r} is not [start, end] in minutes")
                continue
            start, end = interval
            if not 0 <= start < end <= 1440:
                problems.append(f"weekday {day}: {interval!r} must satisfy 0 ≤ start < end ≤ 1440")
            elif start < previous_end:
                problems.append(f"weekday {day}: intervals overlap or are out of order")
            previous_end = max(previous_end, end)
    return problems
