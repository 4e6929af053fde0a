"""Reading the KPIs from the roll-ups (docs/metrics.md), within what the reader may see.

Supervisors, administrators and QA reviewers read the whole help desk and every breakdown; an agent reads the
figures of their own teams and their own (the "agent" breakdown's row for them), nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from kefu.accounts.models import Role
from kefu.analytics.models import Fact
from kefu.analytics.services import DIMENSIONS, DURATION_BUCKETS
from kefu.core.errors import PermissionDenied

READS_ALL = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.QA})


@dataclass(frozen=True)
class Scope:
    """Which roll-up rows a reader may add up: everything, or their teams' and their own."""

    everything: bool
    teams: tuple[str, ...] = ()
    agent: str = ""


def scope_of(actor: object) -> Scope:
    role = getattr(actor, "role", None)
    if not getattr(actor, "is_staff_member", False):
        raise PermissionDenied(_("Only staff read the reports."))
    if role in READS_ALL:
        return Scope(everything=True)
    teams = tuple(str(pk) for pk in actor.departments.values_list("pk", flat=True))  # type: ignore[attr-defined]
    return Scope(everything=False, teams=teams, agent=str(actor.pk))  # type: ignore[attr-defined]


@dataclass
class Figures:
    """The counters of one period (and one breakdown value), with the KPIs computed from them."""

    counters: dict[str, tuple[int, float]] = field(default_factory=dict)

    def n(self, metric: str) -> int:
        return self.counters.get(metric, (0, 0.0))[0]

    def total(self, metric: str) -> float:
        return self.counters.get(metric, (0, 0.0))[1]

    def add(self, metric: str, n: int, total: float) -> None:
        before = self.counters.get(metric, (0, 0.0))
        self.counters[metric] = (before[0] + n, before[1] + total)

    def mean(self, metric: str) -> float | None:
        count = self.n(metric)
        return self.total(metric) / count if count else None

    def rate(self, numerator: str, denominator: str) -> float | None:
        whole = self.n(denominator)
        return self.n(numerator) / whole if whole else None

    def percentile(self, metric: str, share: float) -> float | None:
        """The upper bound (seconds) of the duration bucket the share's item falls in; None past the last."""
        count = self.n(metric)
        if not count:
            return None
        wanted, seen = share * count, 0
        for index, bound in enumerate(DURATION_BUCKETS):
            seen += self.n(f"{metric}_b{index:02d}")
            if seen >= wanted:
                return float(bound)
        return None

    @property
    def volume(self) -> int:
        return self.n("created")

    @property
    def first_response_mean(self) -> float | None:
        return self.mean("first_response")

    @property
    def resolution_mean(self) -> float | None:
        return self.mean("resolved")

    @property
    def fcr_rate(self) -> float | None:
        return self.rate("fcr", "resolved")

    @property
    def reopen_rate(self) -> float | None:
        return self.rate("reopened", "resolved")

    @property
    def transfer_rate(self) -> float | None:
        return self.rate("transferred", "created")

    @property
    def escalation_rate(self) -> float | None:
        return self.rate("escalated", "created")

    @property
    def channel_switch_rate(self) -> float | None:
        return self.rate("channel_switch", "created")

    @property
    def csat(self) -> float | None:
        return self.rate("csat_satisfied", "csat_answers")

    @property
    def nps(self) -> float | None:
        answers = self.n("nps_answers")
        if not answers:
            return None
        return 100 * (self.n("nps_promoters") - self.n("nps_detractors")) / answers

    @property
    def qa_pass_rate(self) -> float | None:
        return self.rate("qa_passed", "qa_reviews")


def _rows(scope: Scope, dimension: str, start: dt.date, end: dt.date) -> Iterable[tuple[str, dt.date, str, int, float]]:
    """(value, day, metric, n, total) of the dimension's rows in [start, end], limited to the reader's scope. An
    agent's "all" is the sum of their teams' rows."""
    rows = Fact.objects.filter(day__gte=start, day__lte=end)
    if scope.everything:
        rows = rows.filter(dimension=dimension)
    elif dimension in {"all", "team"}:
        rows = rows.filter(dimension="team", value__in=scope.teams)
    elif dimension == "agent":
        rows = rows.filter(dimension="agent", value=scope.agent)
    else:
        raise PermissionDenied(_("Agents see their teams' figures and their own, not this breakdown."))
    for value, day, metric, n, total in rows.values_list("value", "day", "metric", "n", "total").iterator():
        yield ("" if dimension == "all" else value), day, metric, n, total


def figures(actor: object, start: dt.date, end: dt.date) -> Figures:
    """The whole period's figures for the reader."""
    result = Figures()
    for _value, _day, metric, n, total in _rows(scope_of(actor), "all", start, end):
        result.add(metric, n, total)
    return result


def own_figures(actor: object, start: dt.date, end: dt.date) -> Figures:
    """The reader's own row of the agent breakdown: the tickets they owned at the defining moments."""
    scope_of(actor)  # staff only
    return _sum(Fact.objects.filter(dimension="agent", value=str(actor.pk),  # type: ignore[attr-defined]
                                    day__gte=start, day__lte=end))


def team_figures(actor: object, start: dt.date, end: dt.date) -> Figures:
    """The figures of the reader's own teams, together."""
    scope_of(actor)  # staff only
    teams = [str(pk) for pk in actor.departments.values_list("pk", flat=True)]  # type: ignore[attr-defined]
    return _sum(Fact.objects.filter(dimension="team", value__in=teams, day__gte=start, day__lte=end))


def _sum(rows: QuerySet[Fact]) -> Figures:
    result = Figures()
    for metric, n, total in rows.values_list("metric", "n", "total").iterator():
        result.add(metric, n, total)
    return result


def breakdown(actor: object, dimension: str, start: dt.date, end: dt.date) -> dict[str, Figures]:
    """The period's figures per value of one breakdown (channel, category, team, agent, tier, priority); the
    value "" holds the tickets with none."""
    if dimension not in DIMENSIONS:
        raise PermissionDenied(_("Unknown breakdown."))
    result: dict[str, Figures] = defaultdict(Figures)
    for value, _day, metric, n, total in _rows(scope_of(actor), dimension, start, end):
        result[value].add(metric, n, total)
    return dict(result)


def period_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def trend(actor: object, start: dt.date, end: dt.date, grain: str = "day") -> list[tuple[dt.date, Figures]]:
    """The figures per day, week (from Monday) or month of the period, every period present (empty ones too)."""
    buckets: dict[dt.date, Figures] = {}
    day = start
    while day <= end:
        buckets.setdefault(period_start(day, grain), Figures())
        day += dt.timedelta(days=1)
    for _value, day, metric, n, total in _rows(scope_of(actor), "all", start, end):
        buckets[period_start(day, grain)].add(metric, n, total)
    return sorted(buckets.items())


def arrivals(actor: object, start: dt.date, end: dt.date) -> list[list[int]]:
    """Tickets created per weekday (Monday first) and hour of the day, over the period."""
    matrix = [[0] * 24 for _ in range(7)]
    for _value, day, metric, n, _total in _rows(scope_of(actor), "all", start, end):
        if metric.startswith("arrival_h"):
            matrix[day.weekday()][int(metric[-2:])] += n
    return matrix


def totals_by_metric(dimension: str, start: dt.date, end: dt.date) -> dict[str, int]:
    """Sum of ``n`` per metric over a dimension's rows (all values): each breakdown adds up to the total."""
    rows = (Fact.objects.filter(dimension=dimension, day__gte=start, day__lte=end)
            .values("metric").annotate(n=Sum("n")))
    return {row["metric"]: row["n"] for row in rows}
