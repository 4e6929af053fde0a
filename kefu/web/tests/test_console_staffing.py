"""The staffing planner page: Erlang C's recommendation from a history built through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.accounts.models import AgentProfile, Role, User
from kefu.analytics import services, staffing, staffing_inputs
from kefu.chat import services as chat
from kefu.chat.models import ChatMessage
from kefu.core.clock import advance, frozen_at, now
from kefu.routing.models import Queue
from kefu.routing.services import profile_of
from kefu.sla.models import BusinessCalendar
from kefu.testing import factories
from kefu.web.console.staffing import Cell

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/console/staffing/"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment counted from Monday 2 November 2026 (day 0), Shanghai time."""
    return dt.datetime(2026, 11, 2, hour, minute, tzinfo=SHANGHAI) + dt.timedelta(days=day)


def go(moment: dt.datetime) -> None:
    advance(moment - now())
    services.roll_up_all()


def login(role: str) -> Client:
    client = Client()
    client.force_login(factories.staff(role))
    return client


def rostered(user: User, week: dict[str, list[list[int]]], name: str) -> None:
    calendar = BusinessCalendar.objects.create(name=name, week=week, china_holidays=False)
    AgentProfile.objects.filter(pk=profile_of(user).pk).update(calendar=calendar)


def chat_handled(agent: User, minutes: int) -> None:
    """A chat answered now and ended ``minutes`` later."""
    session = chat.start_chat(chat.PreChat(name="Visitor"))
    chat.take_chat(session, agent=agent)
    chat.post_message(session, "Hello, how can I help?", side=ChatMessage.Author.AGENT, actor=agent)
    go(now() + dt.timedelta(minutes=minutes))
    chat.end_chat(session, by=ChatMessage.Author.AGENT, actor=agent)


def build_history(email_tickets: int = 2) -> User:
    """Week of 2 November: ``email_tickets`` e-mails on Monday 09:xx, three chat tickets on Tuesday 14:xx and
    two chats handled in 10 and 5 minutes. One agent works Monday 09:00–12:00, another has no schedule.
    The page is read the next Monday at 10:00."""
    agent = factories.staff(Role.AGENT)
    factories.staff(Role.AGENT)  # no schedule: not rostered
    rostered(agent, {"0": [[9 * 60, 12 * 60]]}, "Mornings")
    go(at(0, 9))
    for minute in range(email_tickets):
        go(at(0, 9, 1 + minute % 50))
        factories.ticket(channel="email")
    go(at(1, 14))
    for minute in range(3):
        go(at(1, 14, 5 + minute))
        factories.ticket(channel="chat")
    go(at(2, 10))
    chat_handled(agent, 10)
    chat_handled(agent, 5)
    go(at(7, 10))
    return agent


def cell(response: Any, channel: str, weekday: int, hour: int) -> Cell:
    view = next(v for v in response.context["channels"] if v.channel == channel)
    return view.rows[weekday][1][hour]


def test_the_page_recommends_what_erlang_c_gives_for_the_observed_week():
    with frozen_at(at(0, 8)):
        build_history()
        response = login(Role.SUPERVISOR).get(URL)
    assert response.status_code == 200
    # E-mail: 2 arrivals on Monday 09:00–10:00, the configured 600 s, 90 % within 2 h, 30 % shrinkage.
    needed = staffing.agents_needed(2, 600, 0.9, 7200)
    email = cell(response, "email", 0, 9)
    assert (email.required, email.scheduled, email.rostered) == (needed, staffing.scheduled_agents(needed, "0.3"), 1)
    # Chat: 3 arrivals on Tuesday 14:00–15:00, handled in (600 + 300) / 2 s, 80 % within 30 s; nobody rostered.
    needed = staffing.agents_needed(3, 450, 0.8, 30)
    chats = cell(response, "chat", 1, 14)
    assert (chats.required, chats.scheduled, chats.rostered, chats.short) == (
        needed, staffing.scheduled_agents(needed, "0.3"), 0, True)
    page = response.content.decode()
    assert f'<span class="need" data-required="{needed}">{chats.scheduled}</span>' in page
    assert "(measured on 2 contacts)" in page
    assert 'class="chart chart-heatmap' in page


def test_the_supervisors_targets_and_shrinkage_change_the_plan_and_nothing_is_written():
    with frozen_at(at(0, 8)):
        build_history()
        response = login(Role.ADMIN).get(URL, {
            "weeks": "4", "shrinkage": "0", "email_percent": "80", "email_seconds": "3600",
            "chat_percent": "95", "chat_seconds": "20"})
    assert response.status_code == 200
    needed = staffing.agents_needed(3, 450, 0.95, 20)
    chats = cell(response, "chat", 1, 14)
    assert (chats.required, chats.scheduled) == (needed, needed)
    view = next(v for v in response.context["channels"] if v.channel == "chat")
    assert view.scheduled_hours == needed and view.hours_short == 1


def test_a_target_of_100_percent_is_refused():
    with frozen_at(at(0, 8)):
        build_history()
        response = login(Role.SUPERVISOR).get(URL, {
            "weeks": "4", "shrinkage": "30", "email_percent": "100", "email_seconds": "60",
            "chat_percent": "80", "chat_seconds": "30"})
    assert response.status_code == 400
    assert response.context["channels"] == []
    assert response.context["form"].errors["email_percent"]


def test_the_roster_follows_the_schedule_and_the_queues_of_the_agents_teams():
    with frozen_at(at(0, 8)):
        build_history()
        phone_team = factories.department("Phones")
        Queue.objects.create(name="Calls", team=phone_team, channels=["phone"])
        caller = factories.staff(Role.AGENT, teams=(phone_team,))
        rostered(caller, {"0": [[9 * 60 + 30, 10 * 60]], "1": [[14 * 60, 14 * 60 + 29]]}, "Short")
        inputs = staffing_inputs.observed(factories.staff(Role.SUPERVISOR))
    # The phone agent serves no planned channel; the pooled agent counts in every channel for Monday 9–12.
    assert inputs.roster["email"][9] == 1 and inputs.roster["chat"][9] == 1 and inputs.roster["chat"][8] == 0
    assert (inputs.agents_with_schedule, inputs.agents_without_schedule) == (2, 1)
    assert staffing_inputs.working_slots({"0": [[570, 600]], "1": [[840, 869]]}, "Asia/Shanghai") == [9]
    # A schedule kept in UTC is shifted to Shanghai time (eight hours ahead).
    assert staffing_inputs.working_slots({"0": [[0, 60]]}, "UTC") == [8]


def test_an_empty_history_shows_the_empty_state():
    with frozen_at(at(0, 8)):
        response = login(Role.SUPERVISOR).get(URL)
    assert response.status_code == 200
    assert "the planner needs some history" in response.content.decode()


@pytest.mark.parametrize("role", [Role.AGENT, Role.QA])
def test_agents_and_qa_reviewers_may_not_plan_staffing(role):
    with frozen_at(at(0, 8)):
        build_history()
        assert login(role).get(URL).status_code == 403


def test_customers_and_strangers_see_no_page():
    assert Client().get(URL).status_code in {302, 404}
    customer = Client()
    customer.force_login(factories.customer().user)
    assert customer.get(URL).status_code == 404


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_history():
    with frozen_at(at(0, 8)):
        build_history(email_tickets=1)
        client = login(Role.SUPERVISOR)
        client.get(URL)  # the session and the translation catalogues are warm from here on
        with CaptureQueriesContext(connection) as few:
            assert client.get(URL).status_code == 200
        with frozen_at(at(3, 11)):  # more arrivals, on another day of the observed week
            for _ in range(20):
                factories.ticket(channel="email")
        services.roll_up_all()
        for n in range(5):
            team = factories.department()
            Queue.objects.create(name=f"Queue {n}", team=team, channels=["email"])
            rostered(factories.staff(Role.AGENT, teams=(team,)), {str(n): [[0, 1440]]}, f"Calendar {n}")
        with CaptureQueriesContext(connection) as many:
            response = client.get(URL)
    assert cell(response, "email", 3, 11).arrivals == 20
    assert cell(response, "email", n, 5).rostered == 1
    assert len(many) == len(few)
