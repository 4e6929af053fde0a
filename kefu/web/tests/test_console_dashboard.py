"""The supervisor dashboard and an agent's own numbers, over a week whose figures are known."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from kefu.accounts.models import Role, User
from kefu.analytics.tests.test_metrics import build_week
from kefu.core.clock import frozen_at
from kefu.testing import factories

pytestmark = pytest.mark.django_db

THAT_MONTH = {"month": "2026-11"}


def _get(user: User, path: str, **params: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    with frozen_at(dt.datetime(2026, 11, 8, 12, 0, tzinfo=dt.UTC)):
        response = client.get(path, params, HTTP_ACCEPT_LANGUAGE="en")
    return response.status_code, response.content.decode()


def _tile(page: str, label: str) -> str:
    """A tile of the period (not of today)."""
    page = page.split('id="period-heading"', 1)[-1]
    match = re.search(rf'<span class="tile-label">{re.escape(label)}</span>\s*<strong class="tile-value">'
                      r'(?:<a href="[^"]*"[^>]*>)?([^<]*)<', page)
    assert match, label
    return match.group(1)


def _link(page: str, label: str) -> str:
    """Where a tile of the period leads (the tickets behind its figure)."""
    page = page.split('id="period-heading"', 1)[-1]
    match = re.search(rf'<span class="tile-label">{re.escape(label)}</span>\s*<strong class="tile-value">'
                      r'<a href="([^"]*)"', page)
    assert match, label
    return match.group(1).replace("&amp;", "&")


def test_the_supervisor_sees_the_weeks_figures_charts_and_breakdown_with_drill_down():
    build_week()
    status, page = _get(factories.staff(Role.SUPERVISOR), "/console/dashboard/", **THAT_MONTH, by="team")
    assert status == 200
    assert _tile(page, "Tickets") == "3"
    assert _tile(page, "First response (mean)") == "75 min"  # (30 + 120) / 2
    assert _tile(page, "First contact resolution") == "50 %"
    assert _tile(page, "CSAT") == "50 %" and _tile(page, "NPS") == "+0"
    # A and B were answered within their two working hours (B at the last minute) and resolved in time; C's
    # clocks still run; nothing had milestones.
    assert _tile(page, "SLA met: first response") == "100 %" and "2 of 2" in page
    assert _tile(page, "SLA met: resolution") == "100 %" and _tile(page, "SLA met: milestones") == "—"
    assert page.count('class="chart chart-') == 4  # trend, distribution, arrivals, breakdown
    assert "Blue" in page
    blue = re.search(r'href="(/console/tickets/\?team=\d+&amp;dated=created&amp;created_from=2026-11-01&amp;'
                     r'created_to=2026-11-08)"', page)
    assert blue, "the team's bar opens its tickets"


def test_the_figures_open_the_tickets_behind_them():
    build_week()
    supervisor = factories.staff(Role.SUPERVISOR)
    _status, page = _get(supervisor, "/console/dashboard/", **THAT_MONTH)
    client = Client()
    client.force_login(supervisor)

    def subjects(url: str) -> set[str]:
        listed = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        return set(re.findall(r"(Refund A|Login B|Invoice C)", listed))

    assert subjects(_link(page, "Tickets")) == {"Refund A", "Login B", "Invoice C"}
    assert subjects(_link(page, "First response (mean)")) == {"Refund A", "Login B"}  # C was never answered
    assert subjects(_link(page, "Time to resolution (mean)")) == {"Refund A", "Login B"}
    assert _link(page, "First contact resolution") == _link(page, "Time to resolution (mean)")


def test_an_agent_sees_their_teams_figures_without_breakdowns_and_customers_nothing():
    people = build_week()
    agent = people["agent"]
    assert isinstance(agent, User)
    status, page = _get(agent, "/console/dashboard/", **THAT_MONTH, by="agent")
    assert status == 200 and _tile(page, "Tickets") == "3"
    assert "breakdown-heading" not in page and page.count('class="chart chart-') == 3
    assert _get(factories.customer().user, "/console/dashboard/")[0] == 404


def test_my_numbers_put_the_agent_beside_their_teams():
    people = build_week()
    other = people["other"]
    assert isinstance(other, User)
    status, page = _get(other, "/console/my-numbers/", **THAT_MONTH)
    assert status == 200
    # Green took over C by a transfer after it arrived in Blue: Green's agent has no tickets of their own yet.
    assert re.search(r"<th scope=\"row\">Tickets</th><td[^>]*>(<a [^>]*>)?0(</a>)?</td><td>0</td>", page)
    status, page = _get(people["agent"], "/console/my-numbers/", **THAT_MONTH)  # type: ignore[arg-type]
    mine = re.search(r"<th scope=\"row\">Tickets</th><td[^>]*><a href=\"([^\"]*)\">3</a></td><td>3</td>", page)
    assert mine and "owner=mine" in mine.group(1)  # their own tickets, one click away


def test_an_empty_help_desk_says_so_instead_of_drawing_nothing():
    status, page = _get(factories.staff(Role.ADMIN), "/console/dashboard/")
    assert status == 200 and "No tickets yet." in page and _tile(page, "CSAT") == "—"


def test_the_dashboard_costs_the_same_queries_for_a_quiet_or_a_busy_period(django_assert_max_num_queries):
    supervisor = factories.staff(Role.SUPERVISOR)
    _get(supervisor, "/console/dashboard/", **THAT_MONTH)
    with django_assert_max_num_queries(30) as quiet:
        _get(supervisor, "/console/dashboard/", **THAT_MONTH)
    build_week()
    with django_assert_max_num_queries(30) as busy:
        _get(supervisor, "/console/dashboard/", **THAT_MONTH)
    assert len(busy.captured_queries) <= len(quiet.captured_queries) + 1  # the breakdown's names, once


def test_the_backlog_tile_shows_the_latest_snapshot():
    from kefu.analytics import services

    build_week()
    with frozen_at(dt.datetime(2026, 11, 4, 15, 50, tzinfo=dt.UTC)):
        services.snapshot_backlog()
    _status, page = _get(factories.staff(Role.SUPERVISOR), "/console/dashboard/", **THAT_MONTH)
    backlog = re.search(r'Backlog \(not yet resolved\)</span>\s*<strong class="tile-value"><a href="([^"]*)"[^>]*>1<',
                        page)
    assert backlog and "0 older than a week" in page
    # The tile opens what is still being worked on, oldest first: C.
    client = Client()
    client.force_login(factories.staff(Role.SUPERVISOR))
    listed = client.get(backlog.group(1).replace("&amp;", "&")).content.decode()
    assert "Invoice C" in listed and "Refund A" not in listed


def test_a_year_is_drawn_month_by_month():
    build_week()
    with frozen_at(dt.datetime(2027, 3, 10, 4, 0, tzinfo=dt.UTC)):
        client = Client()
        client.force_login(factories.staff(Role.SUPERVISOR))
        page = client.get("/console/dashboard/", {"period": "365d"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tickets per month" in page and "2026-11" in page and "2027-03" in page
    assert '<option value="365d" selected>Last 12 months</option>' in page
