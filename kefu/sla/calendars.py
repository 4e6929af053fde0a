"""Business calendars from the database as pure ``businesstime.Calendar`` values, cached per process."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import holidays

from kefu.core.clock import now
from kefu.core.shortcache import short_lived
from kefu.sla import businesstime as bt
from kefu.sla.models import BusinessCalendar, CalendarException

# When each calendar was last edited, read at most every few seconds per process (kefu.core.shortcache).
calendar_stamps = short_lived(lambda: dict(BusinessCalendar.objects.values_list("pk", "updated_at")))


def calendar_for(calendar_id: int | None, tz_name: str) -> bt.Calendar:
    """The working calendar of a clock; calendar time (24/7) when it has none."""
    if calendar_id is None:
        return bt.always_open(ZoneInfo(tz_name))
    return _build(calendar_id, calendar_stamps.get().get(calendar_id))


@functools.lru_cache(maxsize=64)
def _build(calendar_id: int, stamp: dt.datetime | None) -> bt.Calendar:
    # `stamp` (the row's updated_at) is part of the cache key: an edit, or an exception saved through
    # the services (which touch the calendar), builds a fresh one.
    row = BusinessCalendar.objects.get(pk=calendar_id)
    off: set[dt.date] = set()
    worked: set[dt.date] = set()
    if row.china_holidays:
        this_year = now().year
        cn = holidays.country_holidays("CN", years=range(this_year - 1, this_year + 3))
        off.update(cn)
        worked.update(cn.weekend_workdays)
    for exception in CalendarException.objects.filter(calendar_id=calendar_id):
        if exception.kind == CalendarException.Kind.HOLIDAY:
            off.add(exception.date)
            worked.discard(exception.date)
        else:
            worked.add(exception.date)
            off.discard(exception.date)
    week = {int(day): [(int(a), int(b)) for a, b in intervals] for day, intervals in row.week.items()}
    return bt.Calendar(tz=ZoneInfo(row.time_zone), week=week, holidays=frozenset(off), workdays=frozenset(worked))
