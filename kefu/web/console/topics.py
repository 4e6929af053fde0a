"""The console's top-issues page: the period's most frequent problems by category and from the text, with their
trend and example tickets, and the chatbot's knowledge gaps grouped — the input to the monthly review
(docs/top-issues.md). Supervisors, administrators and QA reviewers; agents are refused.

The category chart is an SVG string from kefu.analytics.charts, which escapes every label and link it draws
itself; it is marked safe here for that reason only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kefu.analytics import charts, top_issues
from kefu.analytics.selectors import READS_ALL
from kefu.core.errors import DomainError
from kefu.web.console.views import StaffRequest, staff_required

CHART_CATEGORIES = 10


def _drill_down(category_id: str, period: top_issues.Period) -> str | None:
    """The ticket list of the category's tickets created in the period (tickets with none have no filter)."""
    if not category_id:
        return None
    query = {"category": category_id, "created_from": period.start.isoformat(), "created_to": period.end.isoformat()}
    return f"{reverse('web:console_tickets')}?{urlencode(query)}"


def _category_chart(result: top_issues.TopIssues) -> SafeString:
    bars = [charts.Bar(issue.label, issue.trend.current, _drill_down(issue.category_id, result.period))
            for issue in (result.categories or []) if issue.trend.current][:CHART_CATEGORIES]
    svg = charts.bar_chart(bars, horizontal=True, text=charts.ChartText(
        title=_("Tickets by category"),
        description=_("Tickets created in the period per category, largest first; a bar opens its tickets."),
        no_data=_("No ticket was created in this period.")))
    return mark_safe(svg)  # noqa: S308 (kefu.analytics.charts escapes every label and link it draws)


@require_GET
@staff_required
def top_issues_page(request: StaffRequest) -> HttpResponse:
    if request.user.role not in READS_ALL:
        raise DjangoPermissionDenied(_("Supervisors, administrators and QA reviewers read the top issues."))
    status = 200
    month = request.GET.get("month", "")
    period = top_issues.last_days()
    if month:
        try:
            period = top_issues.month_period(month)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
    result = top_issues.top_issues(request.user, period)
    return render(request, "web/console/analytics/top_issues.html", {
        "result": result, "period": result.period, "months": top_issues.recent_months(),
        "chart": _category_chart(result), "tickets_url": reverse("web:console_tickets"),
        "gaps_days": min(max(result.period.days, 1), 365)}, status=status)


urlpatterns: list[URLPattern] = [
    path("console/top-issues/", top_issues_page, name="console_top_issues"),
]
