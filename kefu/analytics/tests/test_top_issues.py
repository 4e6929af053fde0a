"""The top-issues page on a history built through the real services: two categories, a Chinese and an English
theme, a previous period with fewer of one; examples only of tickets the reader may open."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tasks import task_backends
from django_tasks.backends.dummy import DummyBackend

from kefu.accounts.models import Department, Role, User
from kefu.analytics import services, tasks, top_issues
from kefu.analytics.models import TopIssuesGrouping
from kefu.bot.models import UnansweredQuestion
from kefu.core.clock import advance, frozen_at, now
from kefu.core.errors import PermissionDenied
from kefu.testing import factories
from kefu.tickets.models import Category
from kefu.tickets.selectors import visible_tickets

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.datetime(2026, 11, 28, 18, 0, tzinfo=SHANGHAI)  # the last 30 days: 10-30 … 11-28; before: 09-30 … 10-29

REFUND = ["退款还没到账", "我的退款一直没有到账", "申请的退款迟迟不到账，已经一周了", "退款显示成功但是没到账",
          "退款到现在还没到账", "退款什么时候到账", "退货的退款一直不到账", "退款还是没到账，等了十天"]
LOGIN = ["Login failed with the right password", "Cannot login, password rejected", "Login keeps failing after reset",
         "Login password not accepted since the update", "Login failed again with my password",
         "Password reset but login still failing"]
GAPS = ["发票怎么开", "电子发票怎么开", "发票开错了怎么办", "do you ship to canada", "ship to canada?"]


def go(moment: dt.datetime) -> None:
    advance(moment - now())
    services.roll_up_all()


def open_tickets(texts: list[str], category: Category, team: Department, day: dt.datetime) -> list[int]:
    ids = []
    for index, text in enumerate(texts):
        go(day + dt.timedelta(minutes=10 * index))
        ids.append(factories.ticket(subject=text, description="", category=category, team=team).pk)
    return ids


@dataclass(frozen=True)
class History:
    blue: Department
    green: Department
    service: Category
    fault: Category
    refund: list[int]
    login: list[int]


def build_history() -> History:
    """Now: 8 refund (service request, Blue) and 6 login (fault, Green) tickets; before: 2 refund, 6 login."""
    blue, green = factories.department("Blue"), factories.department("Green")
    service, fault = Category.objects.get(slug="service-request"), Category.objects.get(slug="fault")
    go(TODAY - dt.timedelta(days=50))
    open_tickets(REFUND[:2], service, blue, TODAY - dt.timedelta(days=45))
    open_tickets(LOGIN, fault, green, TODAY - dt.timedelta(days=40))
    refund = open_tickets(REFUND, service, blue, TODAY - dt.timedelta(days=10))
    login = open_tickets(LOGIN, fault, green, TODAY - dt.timedelta(days=5))
    for index, text in enumerate(GAPS):
        go(TODAY - dt.timedelta(days=3, minutes=-index))
        UnansweredQuestion.objects.create(text=text, locale="zh-hans")
    go(TODAY)
    return History(blue, green, service, fault, refund, login)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def example_ids(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/console/tickets/(\d+)/"', page)}


def test_the_page_lists_each_theme_with_its_trend_and_examples():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        history = build_history()
        page = client_of(factories.staff(Role.SUPERVISOR)).get(
            "/console/top-issues/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # By category: 8 service requests (2 before), 6 faults (6 before), with drill-down links.
    assert "Service request" in page and "Fault" in page
    assert "Tickets created: 14 (before: 8)." in page
    drill_down = "/console/tickets/?category={}&amp;created_from=2026-10-30&amp;created_to=2026-11-28"
    assert drill_down.format(history.service.pk) in page and drill_down.format(history.fault.pk) in page
    assert 'class="chart chart-bar' in page
    # From the text: the refund theme (Chinese) rose, the login theme (English) fell.
    rows = re.findall(r'<td class="topic-label">(.*?)</td>.*?<span class="trend trend-(\w+)"', page, re.S)
    topics = dict(rows)
    refund_label = next(label for label in topics if "退款" in label)
    login_label = next(label for label in topics if "login" in label or "password" in label)
    assert topics[refund_label] == "rising" and topics[login_label] == "falling"
    shown = example_ids(page)
    assert shown & set(history.refund) and shown & set(history.login)
    assert len(shown) <= 2 * 3
    # Knowledge gaps: the unanswered invoice questions form a group.
    assert "发票" in page.split("Knowledge gaps", 1)[1]


def test_agents_are_refused_and_the_selector_shows_an_agent_only_their_tickets():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        history = build_history()
        agent = factories.staff(Role.AGENT, teams=(history.blue,))
        assert client_of(agent).get("/console/top-issues/").status_code == 403
        result = top_issues.top_issues(agent, top_issues.last_days())
    assert result.categories is None  # agents see no category breakdown
    visible = set(visible_tickets(agent).values_list("pk", flat=True))
    examples = {ticket.pk for topic in result.topics for ticket in topic.examples}
    assert examples and examples <= visible
    assert not examples & set(history.login)
    assert result.tickets == 8  # the Green team's login tickets are not the agent's


def test_a_cached_grouping_never_shows_a_ticket_the_reader_cannot_open():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        history = build_history()
        agent = factories.staff(Role.AGENT, teams=(history.blue,))
        period = top_issues.last_days()
        top_issues.top_issues(agent, period)
        # The agent leaves the Blue team: the cached grouping still names Blue's tickets, the examples do not.
        agent.departments.clear()
        result = top_issues.top_issues(agent, period)
    assert not {ticket.pk for topic in result.topics for ticket in topic.examples} - set(
        visible_tickets(agent).values_list("pk", flat=True))


def test_roles_and_customers():
    with frozen_at(TODAY):
        for role in (Role.SUPERVISOR, Role.ADMIN, Role.QA):
            assert client_of(factories.staff(role)).get("/console/top-issues/").status_code == 200
        assert client_of(factories.customer().user).get("/console/top-issues/").status_code == 404
        with pytest.raises(PermissionDenied):
            top_issues.top_issues(factories.customer().user, top_issues.last_days())


def test_a_month_is_compared_with_the_month_before_and_a_bad_month_is_refused():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        build_history()
        supervisor = client_of(factories.staff(Role.SUPERVISOR))
        page = supervisor.get("/console/top-issues/?month=2026-11", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "2026-11-01 to 2026-11-30, compared with 2026-10-01 to 2026-10-31." in page
        assert "Tickets created: 14 (before: 8)." in page  # the earlier tickets were all opened in October
        for bad in ("2026-13", "nonsense", "2027-01"):
            response = supervisor.get(f"/console/top-issues/?month={bad}", HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 400
            assert "Choose a month from the list." in response.content.decode()


def test_the_grouping_is_cached_for_the_period_and_scope():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        build_history()
        supervisor = factories.staff(Role.SUPERVISOR)
        first = top_issues.top_issues(supervisor, top_issues.last_days())
        factories.ticket(subject="退款还没到账", description="", category=Category.objects.get(slug="fault"))
        again = top_issues.top_issues(supervisor, top_issues.last_days())
        assert again.tickets == first.tickets  # from the cache
        cache.clear()
        assert top_issues.top_issues(supervisor, top_issues.last_days()).tickets == first.tickets + 1


def _add(count: int, blue: Department, categories: list[Category]) -> None:
    for index in range(count):
        go(now() + dt.timedelta(minutes=5))
        factories.ticket(subject=REFUND[index % len(REFUND)], description="", team=blue, category=categories[index % 2])
        factories.ticket(subject=LOGIN[index % len(LOGIN)], description="", team=blue, category=categories[index % 2])
        UnansweredQuestion.objects.create(text=GAPS[index % 3])


def _queries(client: Client) -> tuple[int, int]:
    """Queries of a request that groups the texts, and of one that finds them in the cache."""
    client.get("/console/top-issues/")  # the console marks its user present once: not the page's cost
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        assert client.get("/console/top-issues/").status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert client.get("/console/top-issues/").status_code == 200
    return len(cold), len(warm)


def test_the_page_costs_the_same_queries_for_few_or_many_tickets():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        blue = factories.department("Blue")
        categories = list(Category.objects.all()[:2])
        client = client_of(factories.staff(Role.SUPERVISOR))
        go(TODAY - dt.timedelta(days=10))
        _add(3, blue, categories)
        go(TODAY)
        few = _queries(client)
        _add(30, blue, categories)  # still on the same day
        go(now() + dt.timedelta(minutes=1))
        many = _queries(client)
    assert few == many
    assert few[0] <= 20 and few[1] < few[0]


def test_only_the_newest_tickets_are_grouped_beyond_the_limit(settings):
    settings.KEFU = {**settings.KEFU, "TOP_ISSUES_MAX_TICKETS": 4}
    with frozen_at(TODAY - dt.timedelta(days=1)):
        service = Category.objects.get(slug="service-request")
        newest = open_tickets(REFUND[:6], service, factories.department("Blue"), TODAY - dt.timedelta(hours=2))[2:]
        go(TODAY)
        result = top_issues.top_issues(factories.staff(Role.SUPERVISOR), top_issues.last_days())
        page = client_of(factories.staff(Role.QA)).get("/console/top-issues/", HTTP_ACCEPT_LANGUAGE="en")
    assert (result.tickets, result.grouped_tickets) == (6, 4)
    assert [topic.size for topic in result.topics] == [4]
    assert {ticket.pk for ticket in result.topics[0].examples} <= set(newest)
    assert "from the newest 4 tickets of the period" in page.content.decode()


def run_planned_groupings() -> int:
    """What the scheduler's job queues, run as a worker would run it; returns how many periods were grouped."""
    backend = task_backends["default"]
    assert isinstance(backend, DummyBackend)
    backend.results.clear()
    tasks.plan_top_issues()
    queued = list(backend.results)
    for result in queued:
        assert result.task.call(*result.args, **result.kwargs) is True
    return len(queued)


def test_a_background_task_groups_the_pages_periods_and_the_page_reads_the_stored_grouping():
    with frozen_at(TODAY - dt.timedelta(days=60)):
        build_history()
        supervisor = client_of(factories.staff(Role.SUPERVISOR))
        # The last 30 days and the twelve months of the picker.
        assert run_planned_groupings() == 13
        assert run_planned_groupings() == 0  # all fresh
        go(now() + dt.timedelta(hours=1))
        factories.ticket(subject="退款还没到账", description="", category=Category.objects.get(slug="fault"))
        cache.clear()
        page = supervisor.get("/console/top-issues/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        # The page read the stored grouping (made an hour ago), not the tickets: the new one is not counted yet.
        assert "Tickets created: 14 (before: 8)." in page and "Grouped at 2026-11-28 18:00." in page
        # A quarter of an hour later the running periods (the last 30 days, this month) are grouped again; the
        # months that had ended when they were grouped are final.
        assert run_planned_groupings() == 2
        page = supervisor.get("/console/top-issues/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Tickets created: 15 (before: 8)." in page and "Grouped at 2026-11-28 19:00." in page
        # The next morning, until today's grouping is done, the page shows the 30 days up to yesterday.
        go(dt.datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI))
        page = supervisor.get("/console/top-issues/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "2026-10-30 to 2026-11-28, compared with" in page
        assert run_planned_groupings() == 2  # today's 30 days, and November again
        page = supervisor.get("/console/top-issues/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "2026-10-31 to 2026-11-29, compared with" in page
        assert TopIssuesGrouping.objects.filter(month="").count() == 2  # yesterday's is kept for one more day


def test_a_claimed_period_is_left_to_its_worker_until_the_claim_lapses_and_new_limits_group_again(settings):
    with frozen_at(TODAY):
        claimed = top_issues.plan_groupings()
        assert len(claimed) == 13 and top_issues.plan_groupings() == []  # a second scheduler takes nothing
        go(now() + top_issues.CLAIM + dt.timedelta(seconds=1))  # the worker died without grouping them
        assert sorted(top_issues.plan_groupings()) == sorted(claimed)
        settings.KEFU = {**settings.KEFU, "TOP_ISSUES_MAX_TOPICS": 5}
        assert len(top_issues.plan_groupings()) == 13
        assert TopIssuesGrouping.objects.count() == 13  # the rows of the old limits are gone
