"""The supervisor dashboard and an agent's own numbers, read from the roll-ups (docs/metrics.md).

Charts are SVG strings from kefu.analytics.charts, which escapes every label and link itself; they are marked
safe here for that reason only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from kefu.accounts.models import User
from kefu.analytics import charts, conf, selectors
from kefu.analytics.services import AGE_BUCKETS_DAYS, DURATION_BUCKETS
from kefu.core.clock import now
from kefu.core.errors import PermissionDenied
from kefu.tickets.states import ACTIVE
from kefu.web.console.views import StaffRequest, staff_required

PERIODS = {"today": gettext_lazy("Today"), "7d": gettext_lazy("Last 7 days"), "30d": gettext_lazy("Last 30 days"),
           "90d": gettext_lazy("Last 90 days"), "365d": gettext_lazy("Last 12 months")}
BREAKDOWNS = {"channel": gettext_lazy("Channel"), "category": gettext_lazy("Category"), "team": gettext_lazy("Team"),
              "agent": gettext_lazy("Agent"), "tier": gettext_lazy("Customer tier"),
              "priority": gettext_lazy("Priority")}
# The ticket list's filter for each breakdown, so that a bar opens the tickets behind it.
LIST_FILTER = {"channel": "channel", "category": "category", "team": "team", "agent": "owner", "tier": "tier",
               "priority": "priority"}
# The kinds of SLA clock (kefu.sla TicketClock.Kind), as the compliance tiles name them.
SLA_CLOCKS = {"first_response": gettext_lazy("first response"), "update": gettext_lazy("customer updates"),
              "resolution": gettext_lazy("resolution"), "milestone": gettext_lazy("milestones"),
              "reevaluation": gettext_lazy("re-evaluation")}
WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"),
            gettext_lazy("Fri"), gettext_lazy("Sat"), gettext_lazy("Sun")]


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_from(request: StaffRequest) -> Period:
    today = timezone.localdate(now())
    month = request.GET.get("month", "")
    if month:
        try:
            first = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            first = today.replace(day=1)
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return Period("month", first, min(following - dt.timedelta(days=1), today))
    key = request.GET.get("period", "7d")
    days = {"today": 1, "7d": 7, "30d": 30, "90d": 90, "365d": 365}.get(key)
    if days is None:
        key, days = "7d", 7
    return Period(key, today - dt.timedelta(days=days - 1), today)


# ---------------------------------------------------------------------------------------------- words


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 2 * 3600:
        return _("%(n)s min") % {"n": round(seconds / 60)}
    if seconds < 86400 * 2:
        return _("%(n)s h") % {"n": round(seconds / 3600, 1)}
    return _("%(n)s d") % {"n": round(seconds / 86400, 1)}


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100, 1):g} %"


def _points(value: float | None) -> str:
    return "—" if value is None else f"{round(value):+d}"


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    detail: str
    target: str
    met: bool | None  # None: no target, or no data
    url: str = ""  # the tickets behind the figure, where the ticket list can name them


def _tile(label: str, value: float | None, shown: Callable[[float | None], str], *, detail: str = "",
          target: float | None = None, higher_is_better: bool = True, url: str = "") -> Tile:
    met = None
    if target is not None and value is not None:
        met = value >= target if higher_is_better else value <= target
    return Tile(label, shown(value), detail, shown(target) if target is not None else "", met, url)


@dataclass(frozen=True)
class Drill:
    """How a set of tiles opens the tickets behind its figures: the period, and a breakdown's filter if any."""

    period: Period
    filters: tuple[tuple[str, str], ...] = ()

    def tickets(self, dated: str) -> str:
        """The ticket list of the tickets whose ``dated`` moment (created, first_response, resolved) falls in the
        period: the population each per-ticket figure is counted over (docs/metrics.md)."""
        query = [*self.filters, ("dated", dated), ("created_from", self.period.start.isoformat()),
                 ("created_to", self.period.end.isoformat())]
        return f"{reverse('web:console_tickets')}?{urlencode(query)}"


def backlog_tile(backlog: selectors.Figures) -> Tile:
    old = sum(backlog.n(f"backlog_age_b{index:02d}") for index, bound in enumerate((*AGE_BUCKETS_DAYS, None))
              if bound is None or bound > 7)
    query = urlencode([("status", status) for status in sorted(s.value for s in ACTIVE)] + [("sort", "oldest")])
    return _tile(_("Backlog (not yet resolved)"), backlog.n("backlog"), lambda v: str(int(v or 0)),
                 detail=_("%(n)s older than a week") % {"n": old}, url=f"{reverse('web:console_tickets')}?{query}")


def tiles(figures: selectors.Figures, drill: Drill | None = None) -> list[Tile]:
    frt_target = conf.get("TARGET_FIRST_RESPONSE_MINUTES") * 60
    created, answered, resolved = (drill.tickets(dated) if drill else ""
                                   for dated in ("created", "first_response", "resolved"))
    return [
        _tile(_("Tickets"), figures.volume, lambda v: str(int(v or 0)), url=created),
        _tile(_("First response (mean)"), figures.first_response_mean, _minutes, target=frt_target,
              higher_is_better=False, detail=_("median ≤ %(m)s") % {
                  "m": _minutes(figures.percentile("first_response", 0.5))}, url=answered),
        _sla_tile(figures, "first_response"),
        _tile(_("Time to resolution (mean)"), figures.resolution_mean, _minutes, detail=_("median ≤ %(m)s") % {
            "m": _minutes(figures.percentile("resolved", 0.5))}, url=resolved),
        _tile(_("Handling time (AHT)"), figures.handling_mean, _minutes,
              detail=_("%(chats)s chats, %(calls)s calls") % {"chats": figures.n("handled_chat"),
                                                               "calls": figures.n("handled_call")}),
        _tile(_("First contact resolution"), figures.fcr_rate, _percent, target=conf.get("TARGET_FCR"), url=resolved),
        _tile(_("Reopened"), figures.reopen_rate, _percent, target=conf.get("TARGET_REOPEN"),
              higher_is_better=False, url=resolved),
        _tile(_("Transferred"), figures.transfer_rate, _percent),
        _tile(_("Escalated"), figures.escalation_rate, _percent),
        _tile(_("Switched channel"), figures.channel_switch_rate, _percent),
        _tile(_("Repeat contacts"), figures.repeat_contact_rate, _percent),
        _tile(_("Second complaints"), figures.second_complaint_rate, _percent,
              detail=_("%(n)s complaints") % {"n": figures.n("complaints")}),
        _tile(_("CSAT"), figures.csat, _percent, target=conf.get("TARGET_CSAT"),
              detail=_("%(n)s answers") % {"n": figures.n("csat_answers")}),
        _tile(_("NPS"), figures.nps, _points, target=conf.get("TARGET_NPS"),
              detail=_("%(n)s answers") % {"n": figures.n("nps_answers")}),
        _tile(_("QA pass rate"), figures.qa_pass_rate, _percent, target=conf.get("TARGET_QA_PASS"),
              detail=_("%(n)s reviews") % {"n": figures.n("qa_reviews")}),
    ]


def _sla_tile(figures: selectors.Figures, clock: str) -> Tile:
    return _tile(_("SLA met: %(target)s") % {"target": SLA_CLOCKS[clock]}, figures.sla_compliance(clock),
                 _percent, target=conf.get("TARGET_SLA"),
                 detail=_("%(n)s of %(decided)s") % {"n": figures.n(f"sla_met_{clock}"),
                                                     "decided": figures.sla_decided(clock)})


def service_tiles(figures: selectors.Figures) -> list[Tile]:
    """Each kind of SLA clock's compliance, the handling time per channel and the assistant's outcomes."""
    return [
        *(_sla_tile(figures, clock) for clock in SLA_CLOCKS),
        _tile(_("Handling time of chats"), figures.chat_handling_mean, _minutes,
              detail=_("%(n)s chats") % {"n": figures.n("handled_chat")}),
        _tile(_("Handling time of calls"), figures.call_handling_mean, _minutes,
              detail=_("%(n)s calls") % {"n": figures.n("handled_call")}),
        _tile(_("Solved by the assistant"), figures.bot_resolution_rate, _percent,
              detail=_("%(n)s of %(ended)s conversations") % {"n": figures.n("bot_resolved"),
                                                              "ended": figures.n("bot_ended")}),
        _tile(_("Handed to a person"), figures.bot_handoff_rate, _percent,
              detail=_("%(n)s of %(ended)s conversations") % {"n": figures.n("bot_handed_off"),
                                                              "ended": figures.n("bot_ended")}),
    ]


def _drill_down(dimension: str, value: str, period: Period) -> str | None:
    if not value:
        return None
    return Drill(period, ((LIST_FILTER[dimension], value),)).tickets("created")


# ---------------------------------------------------------------------------------------------- charts


def _safe(svg: str) -> SafeString:
    return mark_safe(svg)  # noqa: S308 (kefu.analytics.charts escapes every label and link it draws)


def trend_chart(actor: User, period: Period) -> SafeString:
    grain = "day" if period.days <= 31 else "week" if period.days <= 92 else "month"
    points = selectors.trend(actor, period.start, period.end, grain, metrics=("created", "resolved"))
    labels = [start.strftime("%Y-%m" if grain == "month" else "%m-%d") for start, _f in points]
    series = [
        charts.Series(str(_("Tickets created")), list(zip(labels, [f.volume for _s, f in points], strict=True))),
        charts.Series(str(_("Tickets resolved")), list(zip(labels, [f.n("resolved") for _s, f in points],
                                                           strict=True))),
    ]
    if not any(f.volume or f.n("resolved") for _s, f in points):
        series = []  # a flat line at zero would look like data
    title = {"day": _("Tickets per day"), "week": _("Tickets per week"), "month": _("Tickets per month")}[grain]
    return _safe(charts.line_chart(series, text=charts.ChartText(
        str(title), str(_("Tickets created and resolved in each period.")), str(_("No tickets yet.")))))


def breakdown_chart(rows: list[tuple[str, str, selectors.Figures]], dimension: str, period: Period) -> SafeString:
    bars = [charts.Bar(label, figures.volume, _drill_down(dimension, value, period))
            for value, label, figures in rows]
    return _safe(charts.bar_chart(bars, horizontal=True, text=charts.ChartText(
        str(_("Tickets by %(breakdown)s") % {"breakdown": str(BREAKDOWNS[dimension]).lower()}),
        str(_("Click a bar to open its tickets.")), str(_("No tickets in this period.")))))


def distribution_chart(figures: selectors.Figures) -> SafeString:
    bins, low = [], 0.0
    for index, bound in enumerate(DURATION_BUCKETS):
        bins.append(charts.Bin(low / 60, bound / 60, figures.n(f"first_response_b{index:02d}")))
        low = bound
    if not figures.n("first_response"):
        bins = []
    return _safe(charts.histogram_of_counts(bins, unit=" min", text=charts.ChartText(
        str(_("First response times")), str(_("How many first responses took how long (minutes)."))
        , str(_("No first responses in this period.")))))


def arrivals_chart(actor: User, period: Period) -> SafeString:
    matrix = selectors.arrivals(actor, period.start, period.end)
    empty = not any(any(row) for row in matrix)
    return _safe(charts.heatmap([] if empty else matrix, row_labels=[] if empty else [str(d) for d in WEEKDAYS],
                                column_labels=[] if empty else [f"{h:02d}" for h in range(24)], text=charts.ChartText(
                                    str(_("Arrivals by weekday and hour")),
                                    str(_("Tickets created in each hour of the week, over the period.")),
                                    str(_("No tickets yet.")))))


# ---------------------------------------------------------------------------------------------- pages


def _breakdown_rows(actor: User, dimension: str, period: Period) -> list[tuple[str, str, selectors.Figures]]:
    by_value = selectors.breakdown(actor, dimension, period.start, period.end, metrics=selectors.TABLE_METRICS)
    labels = selectors.value_labels(dimension, list(by_value))
    rows = [(value, labels[value], figures) for value, figures in by_value.items() if figures.volume
            or figures.n("resolved")]
    return sorted(rows, key=lambda row: (-row[2].volume, row[1]))


@require_GET
@staff_required
def dashboard(request: StaffRequest) -> HttpResponse:
    period = period_from(request)
    dimension = request.GET.get("by", "channel")
    dimension = dimension if dimension in BREAKDOWNS else "channel"
    user = request.user
    today = timezone.localdate(now())
    try:
        figures = selectors.figures(user, period.start, period.end)
        scope = selectors.scope_of(user)
        rows = _breakdown_rows(user, dimension, period) if scope.everything else []
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    context: dict[str, Any] = {
        "period": period, "periods": list(PERIODS.items()), "dimension": dimension,
        "breakdowns": list(BREAKDOWNS.items()), "everything": scope.everything,
        "tiles": tiles(figures, Drill(period)),
        "backlog_tile": backlog_tile(selectors.backlog(user, period.end)),
        "today_tiles": tiles(selectors.figures(user, today, today), Drill(Period("today", today, today)))[:5],
        "service_tiles": service_tiles(figures),
        "rows": [(value, label, _drill_down(dimension, value, period), tiles(f)) for value, label, f in rows],
        "trend_chart": trend_chart(user, period), "arrivals_chart": arrivals_chart(user, period),
        "distribution_chart": distribution_chart(figures),
        "breakdown_chart": breakdown_chart(rows, dimension, period) if scope.everything else "",
        "month": request.GET.get("month", ""),
    }
    return render(request, "web/console/analytics/dashboard.html", context)


@require_GET
@staff_required
def my_numbers(request: StaffRequest) -> HttpResponse:
    """The reader's own row of the agent breakdown against their teams' figures."""
    period = period_from(request)
    user = request.user
    mine = selectors.own_figures(user, period.start, period.end)
    teams = selectors.team_figures(user, period.start, period.end)
    return render(request, "web/console/analytics/my_numbers.html", {
        "period": period, "periods": list(PERIODS.items()),
        "rows": list(zip([*tiles(mine, Drill(period, (("owner", "mine"),))), *service_tiles(mine)],
                         [*tiles(teams), *service_tiles(teams)], strict=True)),
    })


urlpatterns: list[URLPattern] = [
    path("console/dashboard/", dashboard, name="console_dashboard"),
    path("console/my-numbers/", my_numbers, name="console_my_numbers"),
]
