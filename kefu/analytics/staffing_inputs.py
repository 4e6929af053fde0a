"""What the staffing planner (kefu.analytics.staffing) is fed, read from the help desk (docs/staffing.md).

- **Arrivals** per channel and hour of the week: the roll-ups' ``arrival_hHH`` counters of the "channel"
  breakdown over the last N whole weeks before today, averaged per week. While the history is shorter than N
  weeks, each weekday is divided by the number of times it occurs since the first day with arrivals.
- **Handling time** per channel: the roll-ups' AHT of chats (answered → ended) and of calls (talk time) over the
  same days (docs/metrics.md, AHT); every other channel, and chats or calls with nothing measured yet, a
  configured default (conf_staffing).
- **Roster** per channel and hour of the week: active agents (role agent, as routing assigns) whose working
  schedule (AgentProfile.calendar) covers at least half of that hour in a usual week (holidays aside). Agents
  without a schedule count as not rostered. An agent serves the channels of the active queues of their teams;
  an agent none of whose teams has a queue serves every channel. Somebody who serves two channels counts in
  both rosters: the planner plans each channel as its own queue.

Only supervisors and administrators read it: it spans every team.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.analytics import conf_staffing
from kefu.analytics.models import Fact
from kefu.analytics.selectors import scope_of
from kefu.analytics.services import local_day
from kefu.analytics.staffing import HOURS_PER_WEEK
from kefu.core.clock import now
from kefu.core.errors import PermissionDenied
from kefu.customers.models import Channel
from kefu.routing.models import Queue

PLANS_STAFFING = frozenset({Role.SUPERVISOR, Role.ADMIN})
MINUTES_PER_WEEK = 7 * 24 * 60
ROSTERED_MINUTES = 30
"""An agent counts in an hour when their schedule covers at least this many of its minutes."""


@dataclass(frozen=True)
class HandlingTime:
    seconds: float
    measured: int
    """How many chats or calls the mean is of; 0 when ``seconds`` is the configured default."""


@dataclass(frozen=True)
class StaffingInputs:
    start: dt.date
    end: dt.date
    """The days the arrivals were observed on (both included); ``end`` is yesterday."""
    weeks: int
    channels: tuple[str, ...]
    """The channels with arrivals in the window, in the Channel choices' order."""
    arrivals: Mapping[str, Sequence[float]]
    """Channel → mean contacts arriving in each hour of the week (slot 0 = Monday 00:00)."""
    handling: Mapping[str, HandlingTime]
    roster: Mapping[str, Sequence[int]]
    """Channel → agents rostered in each hour of the week."""
    agents_with_schedule: int
    agents_without_schedule: int

    @property
    def empty(self) -> bool:
        return not self.channels


def observed(actor: object, *, weeks: int | None = None) -> StaffingInputs:
    """The last ``weeks`` (default STAFFING_WEEKS) of arrivals, the handling times and today's roster.

    Raises PermissionDenied unless the actor is a supervisor or an administrator.
    """
    if not scope_of(actor).everything or getattr(actor, "role", None) not in PLANS_STAFFING:
        raise PermissionDenied(_("Only supervisors and administrators plan staffing."))
    weeks = max(1, int(weeks if weeks is not None else conf_staffing.get("STAFFING_WEEKS")))
    today = local_day(now())
    start, end = today - dt.timedelta(days=7 * weeks), today - dt.timedelta(days=1)
    arrivals = _arrivals(start, end)
    channels = _ordered([channel for channel, slots in arrivals.items() if any(slots)])
    handling = _handling_times(channels, start, end)
    roster, with_schedule, without = _roster(channels)
    return StaffingInputs(
        start=start, end=end, weeks=weeks, channels=channels,
        arrivals={channel: arrivals[channel] for channel in channels}, handling=handling, roster=roster,
        agents_with_schedule=with_schedule, agents_without_schedule=without)


def _ordered(channels: Iterable[str]) -> tuple[str, ...]:
    known = list(Channel.values)
    return tuple(sorted(channels, key=lambda c: (known.index(c) if c in known else len(known), c)))


def _arrivals(start: dt.date, end: dt.date) -> dict[str, list[float]]:
    rows = list(Fact.objects.filter(dimension="channel", metric__startswith="arrival_h", day__gte=start,
                                    day__lte=end).values_list("value", "day", "metric", "n"))
    if not rows:
        return {}
    first = min(day for _value, day, _metric, _n in rows)
    # How many times each weekday was observed: a younger history than the window is not diluted.
    observed_days = [0] * 7
    day = first
    while day <= end:
        observed_days[day.weekday()] += 1
        day += dt.timedelta(days=1)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * HOURS_PER_WEEK)
    for value, day, metric, n in rows:
        totals[value][day.weekday() * 24 + int(metric[-2:])] += n
    return {channel: [count / observed_days[slot // 24] for slot, count in enumerate(slots)]
            for channel, slots in totals.items()}


# The roll-ups' handling-time counter of each channel that has one (docs/metrics.md, AHT).
HANDLED: dict[str, str] = {Channel.CHAT: "handled_chat", Channel.PHONE: "handled_call"}


def _handling_times(channels: Sequence[str], start: dt.date, end: dt.date) -> dict[str, HandlingTime]:
    """Each channel's mean handling time over the days, from the roll-ups; the configured default where nothing
    was measured (email, web, … have no measured handling time)."""
    sums = {row["metric"]: row for row in Fact.objects.filter(
        dimension="all", metric__in=list(HANDLED.values()), day__gte=start, day__lte=end,
    ).values("metric").annotate(n=Sum("n"), total=Sum("total")).order_by()}
    times = {}
    for channel in channels:
        found = sums.get(HANDLED.get(channel, ""))
        times[channel] = (HandlingTime(found["total"] / found["n"], found["n"]) if found and found["n"]
                          else HandlingTime(conf_staffing.default_aht(channel), 0))
    return times


def _roster(channels: Sequence[str]) -> tuple[dict[str, list[int]], int, int]:
    roster = {channel: [0] * HOURS_PER_WEEK for channel in channels}
    agents = list(User.objects.filter(is_active=True, role=Role.AGENT).values_list(
        "pk", "agent_profile__calendar_id", "agent_profile__calendar__week", "agent_profile__calendar__time_zone"))
    scheduled = [(pk, calendar, week, zone) for pk, calendar, week, zone in agents if calendar is not None]
    serves = _channels_served([pk for pk, *_calendar in scheduled], channels)
    hours_of: dict[int, list[int]] = {}
    for pk, calendar, week, zone in scheduled:
        if calendar not in hours_of:
            hours_of[calendar] = working_slots(week, zone)
        for channel in serves[pk]:
            for slot in hours_of[calendar]:
                roster[channel][slot] += 1
    return roster, len(scheduled), len(agents) - len(scheduled)


def _channels_served(agent_ids: Sequence[int], channels: Sequence[str]) -> dict[int, tuple[str, ...]]:
    """Agent → the channels (of those planned) that the active queues of their teams take; every channel for
    an agent with no team that has a queue."""
    queues: dict[int, list[list[str]]] = defaultdict(list)
    for team_id, queue_channels in Queue.objects.filter(active=True).values_list("team_id", "channels"):
        queues[team_id].append(list(queue_channels or []))
    teams: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in User.departments.through.objects.filter(user_id__in=agent_ids).values_list(
            "user_id", "department_id"):
        teams[user_id].append(team_id)
    served: dict[int, tuple[str, ...]] = {}
    for agent_id in agent_ids:
        lists = [queue for team in teams[agent_id] for queue in queues.get(team, [])]
        if not lists or any(not queue for queue in lists):
            served[agent_id] = tuple(channels)
        else:
            served[agent_id] = tuple(c for c in channels if any(c in queue for queue in lists))
    return served


def working_slots(week: object, time_zone: str) -> list[int]:
    """The hours of the week (in the deployment's time zone) in which a calendar's usual working intervals
    cover at least ROSTERED_MINUTES minutes. A calendar in another zone is shifted by today's difference in
    UTC offsets; a malformed week counts as no working time."""
    minutes = bytearray(MINUTES_PER_WEEK)
    shift = _shift_minutes(time_zone)
    for weekday, intervals in (week.items() if isinstance(week, dict) else ()):
        if not str(weekday).isdigit() or not 0 <= int(weekday) < 7 or not isinstance(intervals, list):
            continue
        for interval in intervals:
            if not (isinstance(interval, list) and len(interval) == 2
                    and all(isinstance(bound, int) for bound in interval)):
                continue
            begin, finish = max(0, interval[0]), min(1440, interval[1])
            for minute in range(begin, finish):
                minutes[(int(weekday) * 1440 + minute + shift) % MINUTES_PER_WEEK] = 1
    return [slot for slot in range(HOURS_PER_WEEK) if sum(minutes[slot * 60:(slot + 1) * 60]) >= ROSTERED_MINUTES]


def _shift_minutes(time_zone: str) -> int:
    moment = now()
    try:
        theirs = moment.astimezone(ZoneInfo(time_zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    ours = timezone.localtime(moment).utcoffset()
    if theirs is None or ours is None:
        return 0
    return int((ours - theirs).total_seconds() // 60)
