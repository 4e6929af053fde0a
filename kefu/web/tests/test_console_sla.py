"""Service levels in the console and the portal: countdowns on the list and the ticket, the "at risk"
view, the bell, and the promise the customer sees."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.core.clock import frozen_at
from kefu.sla import services as sla
from kefu.testing import factories
from kefu.tickets.models import Priority

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    team, other_team = factories.department(), factories.department()
    agent = factories.staff(teams=(team,), name="Li Agent")
    with frozen_at(MONDAY_10):
        urgent = factories.worked_ticket(agent, priority=Priority.URGENT, team=team, subject="Payments down")
        normal = factories.worked_ticket(agent, priority=Priority.NORMAL, team=team, subject="Invoice copy")
        foreign = factories.ticket(priority=Priority.URGENT, team=other_team, subject="Other team's outage")
    return {"agent": agent, "urgent": urgent, "normal": normal, "foreign": foreign}


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_list_shows_each_tickets_nearest_deadline(client, world):
    client.force_login(world["agent"])
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=10)):
        page = _text(client.get(reverse("web:console_tickets")))
    assert "Service level" in page
    assert "First response: 20 minutes left" in page  # the urgent ticket's 30 minutes, 10 gone


def test_at_risk_lists_the_readers_running_clocks_least_time_left_first(client, world):
    client.force_login(world["agent"])
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=35)):
        page = _text(client.get(reverse("web:console_at_risk")))
    numbers = re.findall(r'href="/console/tickets/(\d+)/">#', page)
    assert numbers[0] == str(world["urgent"].pk)  # overdue first
    assert "overdue by 5" in page
    assert str(world["normal"].pk) in numbers
    assert str(world["foreign"].pk) not in numbers  # another team's ticket stays invisible


def test_the_ticket_page_shows_the_policy_and_its_clocks(client, world):
    client.force_login(world["agent"])
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=1)):
        page = _text(client.get(reverse("web:console_ticket", args=[world["urgent"].pk])))
    assert "Policy: Urgent" in page
    assert "due 2026-11-23 10:30" in page
    assert "Service level: Urgent." in page  # the timeline sentence


def test_the_bell_counts_unread_alerts_and_marking_them_read_clears_it(client, world):
    sla.sweep(MONDAY_10 + dt.timedelta(minutes=24))  # the urgent ticket's warning goes to its owner
    client.force_login(world["agent"])
    page = _text(client.get(reverse("web:console_alerts")))
    assert 'class="count"' in page
    assert f"#{world['urgent'].number}" in page and "is due at 2026-11-23 10:30" in page
    response = client.post(reverse("web:console_alerts_read"))
    assert response.status_code == 302
    assert 'class="count"' not in _text(client.get(reverse("web:console_alerts")))
    other = factories.staff(Role.SUPERVISOR)
    client.force_login(other)
    assert "is due at" not in _text(client.get(reverse("web:console_alerts")))  # nobody reads another's


def test_the_customer_is_told_when_we_will_reply(client, world):
    ticket = world["foreign"]
    client.force_login(ticket.customer.user)
    page = _text(client.get(reverse("web:portal_ticket", args=[ticket.pk])))
    assert "We will reply by 2026-11-23 10:30." in page


def test_the_progress_update_meets_the_update_clock_and_reaches_the_customer(client, world):
    ticket = world["urgent"]
    client.force_login(world["agent"])
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=5)):
        client.post(reverse("web:console_reply", args=[ticket.pk]), {"body": "Looking into it."})
    with frozen_at(MONDAY_10 + dt.timedelta(hours=3)):
        page = _text(client.get(reverse("web:console_ticket", args=[ticket.pk])))
        assert '<details class="card composer progress" open>' in page  # the update is due: the form is open
        response = client.post(reverse("web:console_progress", args=[ticket.pk]), {
            "progress": "Found the faulty gateway.", "obstacle": "", "next_step": "Switch over at 14:00."})
    assert response.status_code == 302
    body = ticket.messages.order_by("-id").first().body_text
    assert body == "Progress: Found the faulty gateway.\n\nNext step: Switch over at 14:00."
    from kefu.sla.models import TicketClock

    updates = TicketClock.objects.filter(ticket=ticket, kind="update").order_by("id")
    assert [c.state for c in updates] == ["met", "running"]  # the reply started it, the update met it


def test_a_progress_update_without_a_next_step_is_refused(client, world):
    client.force_login(world["agent"])
    response = client.post(reverse("web:console_progress", args=[world["urgent"].pk]),
                           {"progress": "Some", "next_step": " "}, follow=True)
    assert "Say what has progressed and what happens next." in _text(response)


def test_default_policy_names_are_shown_in_the_readers_language(client, world):
    agent = world["agent"]
    agent.language = "zh-hans"
    agent.save(update_fields=["language"])
    client.force_login(agent)
    page = _text(client.get(reverse("web:console_ticket", args=[world["normal"].pk])))
    assert "策略：重要及常规" in page and "服务水平：重要及常规。" in page
