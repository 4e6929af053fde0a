"""Reading the KPIs from the roll-ups (docs/metrics.md), within what the reader may see.

Supervisors, administrators and QA reviewers read the whole help desk and every breakdown; an agent reads the
figures of their own teams and their own (the "agent" breakdown's row for them), nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import ExtractIsoWeekDay
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, Role, User
from kefu.analytics.models import Fact
from kefu.analytics.services import DIMENSIONS, DURATION_BUCKETS
from kefu.core.errors import PermissionDenied
from kefu.customers.models import Channel, Tier
from kefu.tickets.models import Category, Priority

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
    def call_handling_mean(self) -> float | None:
        """AHT of phone calls (talk time)."""
        return self.mean("handled_call")

    @property
    def chat_handling_mean(self) -> float | None:
        """AHT of chats (answered → ended)."""
        return self.mean("handled_chat")

    @property
    def handled(self) -> int:
        return self.n("handled_call") + self.n("handled_chat")

    @property
    def handling_mean(self) -> float | None:
        """AHT: agent time on chats and calls over the chats and calls handled."""
        handled = self.handled
        return (self.total("handled_call") + self.total("handled_chat")) / handled if handled else None

    def sla_decided(self, clock: str) -> int:
        return self.n(f"sla_met_{clock}") + self.n(f"sla_breached_{clock}")

    def sla_compliance(self, clock: str) -> float | None:
        """The share of one kind of SLA clock met in time, of those met or breached."""
        decided = self.sla_decided(clock)
        return self.n(f"sla_met_{clock}") / decided if decided else None

    @property
    def bot_resolution_rate(self) -> float | None:
        return self.rate("bot_resolved", "bot_ended")

    @property
    def bot_handoff_rate(self) -> float | None:
        return self.rate("bot_handed_off", "bot_ended")

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
    def repeat_contact_rate(self) -> float | None:
        return self.rate("repeat_contact", "created")

    @property
    def second_complaint_rate(self) -> float | None:
        return self.rate("second_complaint", "complaints")

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


def _facts(scope: Scope, dimension: str, start: dt.date, end: dt.date,
           metrics: Iterable[str] | None = None, metric_prefix: str = "") -> QuerySet[Fact]:
    """The dimension's rows in [start, end] that the reader may add up. An agent's "all" is their teams' rows."""
    rows = Fact.objects.filter(day__gte=start, day__lte=end)
    if metrics is not None:
        rows = rows.filter(metric__in=list(metrics))
    if metric_prefix:
        rows = rows.filter(metric__startswith=metric_prefix)
    if scope.everything:
        return rows.filter(dimension=dimension)
    if dimension in {"all", "team"}:
        return rows.filter(dimension="team", value__in=scope.teams)
    if dimension == "agent":
        return rows.filter(dimension="agent", value=scope.agent)
    raise PermissionDenied(_("Agents see their teams' figures and their own, not this breakdown."))


def _summed(rows: QuerySet[Fact], *group: str) -> Iterable[dict[str, Any]]:
    """Sums computed by the database, one row per group and metric: the panels read a few rows, not one per day."""
    return rows.values(*group, "metric").annotate(sum_n=Sum("n"), sum_total=Sum("total")).order_by()


def _sum(rows: QuerySet[Fact]) -> Figures:
    result = Figures()
    for row in _summed(rows):
        result.add(row["metric"], row["sum_n"], row["sum_total"])
    return result


def figures(actor: object, start: dt.date, end: dt.date) -> Figures:
    """The whole period's figures for the reader (the backlog, a level rather than a flow, is read apart)."""
    return _sum(_facts(scope_of(actor), "all", start, end).exclude(metric__startswith="backlog"))


def backlog(actor: object, day: dt.date) -> Figures:
    """The backlog as last recorded on or before ``day``: ``n("backlog")`` and ``n("backlog_age_bNN")`` per age
    bucket (kefu.analytics.services.AGE_BUCKETS_DAYS)."""
    scope = scope_of(actor)
    latest = (_facts(scope, "all", dt.date.min, day, metrics=("backlog",)).order_by("-day")
              .values_list("day", flat=True).first())
    if latest is None:
        return Figures()
    return _sum(_facts(scope, "all", latest, latest, metric_prefix="backlog"))


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


# The counters a breakdown table's columns are computed from (the dashboard's headline figures, without the
# duration buckets and hourly arrivals that make most of the rows): a year by agent stays one quick read.
TABLE_METRICS = (
    "created", "first_response", "sla_met_first_response", "sla_breached_first_response", "resolved",
    "handled_call", "handled_chat", "fcr", "reopened", "transferred", "escalated", "channel_switch", "repeat_contact",
    "complaints", "second_complaint", "csat_answers", "csat_satisfied", "nps_answers", "nps_promoters",
    "nps_detractors", "qa_reviews", "qa_passed")


def breakdown(actor: object, dimension: str, start: dt.date, end: dt.date,
              metrics: Iterable[str] | None = None) -> dict[str, Figures]:
    """The period's figures per value of one breakdown (channel, category, team, agent, tier, priority); the
    value "" holds the tickets with none. Only ``metrics`` when given (e.g. TABLE_METRICS)."""
    if dimension not in DIMENSIONS:
        raise PermissionDenied(_("Unknown breakdown."))
    result: dict[str, Figures] = defaultdict(Figures)
    rows = _facts(scope_of(actor), dimension, start, end, metrics).exclude(metric__startswith="backlog")
    for row in _summed(rows, "value"):
        result[row["value"]].add(row["metric"], row["sum_n"], row["sum_total"])
    return dict(result)


def value_labels(dimension: str, values: list[str]) -> dict[str, str]:
    """What each breakdown value is called on the page ("" is the tickets with none)."""
    ids = [int(v) for v in values if v.isdigit()]
    names: dict[str, str]
    if dimension == "channel":
        names = {k: str(v) for k, v in Channel.choices}
    elif dimension == "tier":
        names = {k: str(v) for k, v in Tier.choices}
    elif dimension == "priority":
        names = {k: str(v) for k, v in Priority.choices}
    elif dimension == "category":
        names = {str(c.pk): c.label() for c in Category.objects.filter(pk__in=ids)}
    elif dimension == "team":
        names = {str(pk): name for pk, name in Department.objects.filter(pk__in=ids).values_list("pk", "name")}
    else:
        names = {str(u.pk): u.name for u in User.objects.filter(pk__in=ids)}
    return {value: names.get(value, value) if value else str(_("None")) for value in values}


def period_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def trend(actor: object, start: dt.date, end: dt.date, grain: str = "day",
          metrics: Iterable[str] | None = None) -> list[tuple[dt.date, Figures]]:
    """The figures per day, week (from Monday) or month of the period, every period present (empty ones too);
    only ``metrics`` when given (a chart of two lines reads two counters a day, not all of them)."""
    buckets: dict[dt.date, Figures] = {}
    day = start
    while day <= end:
        buckets.setdefault(period_start(day, grain), Figures())
        day += dt.timedelta(days=1)
    rows = _facts(scope_of(actor), "all", start, end, metrics)
    if metrics is None:
        rows = rows.exclude(metric__startswith="backlog")  # a level, not a flow: summing days would be wrong
    for row in _summed(rows, "day"):
        buckets[period_start(row["day"], grain)].add(row["metric"], row["sum_n"], row["sum_total"])
    return sorted(buckets.items())


def arrivals(actor: object, start: dt.date, end: dt.date) -> list[list[int]]:
    """Tickets created per weekday (Monday first) and hour of the day, over the period."""
    matrix = [[0] * 24 for _ in range(7)]
    rows = _facts(scope_of(actor), "all", start, end, metric_prefix="arrival_h").annotate(
        weekday=ExtractIsoWeekDay("day"))
    for row in _summed(rows, "weekday"):
        matrix[row["weekday"] - 1][int(row["metric"][-2:])] += row["sum_n"]
    return matrix


def totals_by_metric(dimension: str, start: dt.date, end: dt.date) -> dict[str, int]:
    """Sum of ``n`` per metric over a dimension's rows (all values): each breakdown adds up to the total."""
    rows = (Fact.objects.filter(dimension=dimension, day__gte=start, day__lte=end)
            .values("metric").annotate(n=Sum("n")))
    return {row["metric"]: row["n"] for row in rows}
