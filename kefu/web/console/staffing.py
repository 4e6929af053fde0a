"""The console's staffing planner (supervisors and administrators): agents to roster per hour of the week for
each channel, from the observed arrivals and handling times and a service-level target (Erlang C with
shrinkage), and what the current roster achieves. The GET form tries other targets; nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from kefu.analytics import charts, conf_staffing, staffing, staffing_inputs
from kefu.core.errors import PermissionDenied
from kefu.customers.models import Channel
from kefu.web.console.views import StaffRequest, staff_required


class PlannerForm(forms.Form):
    """Shrinkage, weeks of history and each planned channel's target; the knobs give the initial values."""

    weeks = forms.IntegerField(label=gettext_lazy("Weeks of history"), min_value=1, max_value=26)
    shrinkage = forms.DecimalField(label=gettext_lazy("Shrinkage (%)"), min_value=Decimal(0),
                                   max_value=Decimal(90), max_digits=4, decimal_places=1)

    def __init__(self, data: Any, *, channels: tuple[str, ...]) -> None:
        self.channels = channels
        initial: dict[str, Any] = {"weeks": conf_staffing.get("STAFFING_WEEKS"),
                                   "shrinkage": Decimal(str(conf_staffing.get("STAFFING_SHRINKAGE"))) * 100}
        for channel in channels:
            percent, seconds = conf_staffing.target_of(channel)
            initial[f"{channel}_percent"], initial[f"{channel}_seconds"] = Decimal(str(percent)), seconds
        super().__init__(data, initial=initial)
        for channel in channels:
            # 100 % is refused: with random arrivals no number of agents ever answers every contact in time.
            self.fields[f"{channel}_percent"] = forms.DecimalField(
                label=_("%(channel)s: answered within the target (%%)") % {"channel": _channel_label(channel)},
                min_value=Decimal(1), max_value=Decimal("99.9"), max_digits=4, decimal_places=1)
            self.fields[f"{channel}_seconds"] = forms.IntegerField(
                label=_("%(channel)s: target (seconds)") % {"channel": _channel_label(channel)},
                min_value=1, max_value=7 * 86400)

    def values(self) -> dict[str, Any]:
        """The cleaned values when the form was sent, else the initial ones."""
        return dict(self.cleaned_data) if self.is_bound else {name: self.initial[name] for name in self.fields}

    def channel_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"{channel}_percent"], self[f"{channel}_seconds"]) for channel in self.channels]


@dataclass(frozen=True)
class Cell:
    hour: int
    arrivals: float
    required: int
    """Productive agents Erlang C asks for."""
    scheduled: int
    """People to roster so that ``required`` remain after shrinkage."""
    rostered: int
    service_level: float | None
    """The roster's achieved share in percent; None in an hour without arrivals."""
    short: bool


@dataclass(frozen=True)
class ChannelView:
    channel: str
    label: str
    percent: Decimal
    seconds: int
    handling: staffing_inputs.HandlingTime
    rows: list[tuple[str, list[Cell]]]
    chart: str
    scheduled_hours: int
    rostered_hours: int
    hours_short: int
    service_level: float | None


def _channel_label(channel: str) -> str:
    return str(Channel(channel).label) if channel in Channel.values else channel


def _cell(hour: staffing.HourPlan) -> Cell:
    outcome = hour.roster
    assert outcome is not None  # every channel is planned with a roster
    arrivals = hour.demand.arrivals_per_hour
    return Cell(hour=hour.slot % 24, arrivals=arrivals, required=hour.required_agents,
                scheduled=hour.scheduled_agents, rostered=outcome.rostered,
                service_level=outcome.service_level * 100 if arrivals else None, short=not outcome.meets_target)


def _channel_view(plan: staffing.ChannelPlan, inputs: staffing_inputs.StaffingInputs, values: dict[str, Any]) -> \
        ChannelView:
    label = _channel_label(plan.channel)
    cells = [_cell(hour) for hour in plan.hours]
    rows = [(str(WEEKDAYS_ABBR[day]), cells[day * 24:(day + 1) * 24]) for day in range(7)]
    matrix = [[float(cell.scheduled) for cell in row] for _day, row in rows]
    # The chart module escapes every label and title itself, so its SVG string is safe to insert as is.
    chart = mark_safe(charts.heatmap(  # noqa: S308 — built and escaped by kefu.analytics.charts
        matrix, row_labels=[day for day, _row in rows], column_labels=[f"{h:02d}" for h in range(24)],
        text=charts.ChartText(
            title=_("%(channel)s: agents to roster per hour of the week") % {"channel": label},
            description=_("Agents to roster in each hour, Monday to Sunday, with shrinkage."),
            no_data=_("No arrivals yet.")),
        unit=""))
    achieved = plan.roster_service_level
    return ChannelView(
        channel=plan.channel, label=label, percent=values[f"{plan.channel}_percent"],
        seconds=values[f"{plan.channel}_seconds"], handling=inputs.handling[plan.channel], rows=rows, chart=chart,
        scheduled_hours=plan.scheduled_agent_hours, rostered_hours=sum(inputs.roster[plan.channel]),
        hours_short=len(plan.hours_short_of_target), service_level=None if achieved is None else achieved * 100)


def _plan(inputs: staffing_inputs.StaffingInputs, values: dict[str, Any]) -> list[ChannelView]:
    weeks = [
        staffing.ChannelWeek(
            channel=channel,
            target=staffing.ServiceTarget(float(values[f"{channel}_percent"]) / 100, values[f"{channel}_seconds"]),
            demand=[staffing.HourDemand(arrivals, inputs.handling[channel].seconds)
                    for arrivals in inputs.arrivals[channel]],
            roster=inputs.roster[channel])
        for channel in inputs.channels
    ]
    plan = staffing.plan_week(weeks, shrinkage=Fraction(str(values["shrinkage"])) / 100)
    return [_channel_view(channel_plan, inputs, values) for channel_plan in plan.channels]


@require_GET
@staff_required
def planner(request: StaffRequest) -> HttpResponse:
    if request.user.role not in staffing_inputs.PLANS_STAFFING:
        raise DjangoPermissionDenied(_("Only supervisors and administrators plan staffing."))
    sent = request.GET or None
    weeks = request.GET.get("weeks", "")
    try:
        inputs = staffing_inputs.observed(
            request.user, weeks=min(int(weeks), 26) if weeks.isdigit() and int(weeks) else None)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    form = PlannerForm(sent, channels=inputs.channels)
    refused = form.is_bound and not form.is_valid()
    channels = [] if refused or inputs.empty else _plan(inputs, form.values())
    return render(request, "web/console/analytics/staffing.html", {
        "form": form, "inputs": inputs, "channels": channels, "hours": [f"{h:02d}" for h in range(24)],
        "scheduled_hours": sum(view.scheduled_hours for view in channels),
        "hours_short": sum(view.hours_short for view in channels),
    }, status=400 if refused else 200)


urlpatterns: list[URLPattern] = [
    path("console/staffing/", planner, name="console_staffing"),
]
