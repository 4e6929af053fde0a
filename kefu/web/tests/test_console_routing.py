"""Routing in the console: my work (presence, get next, due first), the queue monitor, transfers, the rule
preview, and presence following the agent's activity."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from kefu.accounts.models import AgentProfile, Presence, Role
from kefu.core.clock import frozen_at, now
from kefu.routing import services as routing
from kefu.routing.models import Queue, QueueAlert, RoutingRule
from kefu.testing import factories
from kefu.tickets.models import Priority, TicketEvent

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _group(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, pattern
    return found.group(1)


@pytest.fixture
def desk():
    team = factories.department("Billing")
    admin = factories.staff(Role.ADMIN)
    supervisor = factories.staff(Role.SUPERVISOR, teams=(team,), name="Sun Supervisor")
    agent = factories.staff(teams=(team,), name="Li Agent")
    routing.configure_agent(agent, actor=admin, max_tickets=3)
    queue = Queue.objects.create(name="Billing queue", team=team, alert_max_waiting=1)
    return {"team": team, "admin": admin, "supervisor": supervisor, "agent": agent, "queue": queue}


def test_my_work_sets_presence_gets_the_next_ticket_and_lists_the_one_due_first_on_top(
        client, desk, django_capture_on_commit_callbacks):
    agent = desk["agent"]
    normal = factories.ticket(subject="Invoice copy", auto_assign=True)
    urgent = factories.ticket(subject="Payments down", priority=Priority.URGENT, auto_assign=True)
    client.force_login(agent)

    page = _text(client.get(reverse("web:console_work")))
    assert "Nothing in progress." in page and "Get next ticket" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:console_presence"), {"presence": "online"}, follow=True)
    assert "You are now Online." in _text(response)
    assert AgentProfile.objects.get(user=agent).presence == Presence.ONLINE
    # Coming online handed over both waiting tickets at once.
    page = _text(client.get(reverse("web:console_work")))
    assert page.index("Payments down") < page.index("Invoice copy"), "the urgent one is due first"
    assert "2 of 3 open tickets" in page
    assert {normal.pk, urgent.pk} == set(agent.owned_tickets.values_list("pk", flat=True))

    third = factories.ticket(subject="Refund status")
    response = client.post(reverse("web:console_get_next"))
    assert response.status_code == 302  # nothing waiting in the queue: the ticket above was not queued
    assert "Nothing is waiting that you can take." in _text(client.get(response["Location"]))
    third.refresh_from_db()
    assert third.owner is None

    routing.set_presence(agent, Presence.AWAY, actor=agent)
    waiting = factories.ticket(subject="Card declined", auto_assign=True)
    response = client.post(reverse("web:console_get_next"))
    assert response["Location"] == reverse("web:console_ticket", args=[waiting.pk])
    assert f"Ticket #{waiting.number} is yours." in _text(client.get(response["Location"]))


def test_the_queue_monitor_shows_waiting_waits_risk_alerts_and_agents_to_supervisors_only(client, desk):
    start = now()
    with frozen_at(start - dt.timedelta(minutes=7)):
        factories.ticket(subject="email one", channel="email", auto_assign=True)
    factories.ticket(subject="chat one", channel="chat", auto_assign=True)
    routing.check_queue_alerts()
    assert QueueAlert.objects.filter(closed_at__isnull=True).count() == 1
    routing.set_presence(desk["agent"], Presence.AWAY, actor=desk["agent"])

    client.force_login(desk["supervisor"])
    page = _text(client.get(reverse("web:console_wallboard")))
    row = _group(r'<tr class="queue-row alerting" data-queue="Billing queue">(.*?)</tr>', page)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[2] == "2" and cells[3] == "0"  # waiting, of which in the priority lane
    assert cells[4] == "Live chat 1 (longest 0 min) · Email 1 (longest 7 min)"
    assert cells[5] == "7 min"
    assert "Too many waiting" in cells[7]
    team = _group(r'<tr class="team-row" data-team="Billing">(.*?)</tr>', page)
    assert re.findall(r"<td[^>]*>(.*?)</td>", team)[1:4] == ["0", "0", "1"]  # available, busy, away

    client.force_login(desk["agent"])
    assert client.get(reverse("web:console_wallboard")).status_code == 403


def test_a_transfer_from_the_ticket_page_moves_it_to_the_other_team_with_a_note(client, desk):
    other = factories.department("Technical")
    engineer = factories.staff(teams=(other,), name="Wang Engineer")
    Queue.objects.create(name="Technical queue", team=other)
    routing.set_presence(desk["agent"], Presence.ONLINE, actor=desk["agent"])
    ticket = factories.ticket(subject="Printer on fire", auto_assign=True)
    assert ticket.owner == desk["agent"]
    client.force_login(desk["agent"])
    page = _text(client.get(reverse("web:console_ticket", args=[ticket.pk])))
    assert "Assigned to Li Agent. (routed on arrival: skill match 1.00, load 0/3)" in page

    response = client.post(reverse("web:console_transfer", args=[ticket.pk]),
                           {"team": other.pk, "owner": engineer.pk, "note": "Hardware, not billing."}, follow=True)

    assert "Transferred to Wang Engineer, Technical." in _text(response)
    ticket.refresh_from_db()
    assert (ticket.owner, ticket.team) == (engineer, other)
    assert TicketEvent.objects.get(ticket=ticket, type="transferred").payload["note"] == "Hardware, not billing."
    client.force_login(desk["supervisor"])
    page = _text(client.get(reverse("web:console_ticket", args=[ticket.pk])))
    assert ("Transferred from Li Agent / Billing to Wang Engineer / Technical. Reason: Hardware, not billing."
            in page)
    assert response.redirect_chain[-1][0] == reverse("web:console_work")  # no longer this agent's to see
    response = client.post(reverse("web:console_transfer", args=[ticket.pk]), {"team": "99999"}, follow=True)
    assert "Choose a team from the list." in _text(response)


def test_the_rule_preview_says_which_conditions_hold(client, desk):
    rule = RoutingRule.objects.create(name="Urgent refunds", queue=desk["queue"], priorities=["urgent"],
                                      keywords=["refund"])
    ticket = factories.ticket(subject="Refund please", priority=Priority.HIGH)
    client.force_login(desk["supervisor"])

    page = _text(client.get(reverse("web:console_routing_rules"), {"rule": rule.pk, "ticket": ticket.number}))

    assert f"“Urgent refunds” does not match #{ticket.number}." in page
    assert re.search(r'<tr class="check fails"><td>Priority</td><td>urgent</td><td>high</td>', page)
    assert re.search(r'<tr class="check ok"><td>Keywords</td><td>refund</td>', page)
    page = _text(client.get(reverse("web:console_routing_rules"), {"rule": rule.pk, "ticket": "424242"}))
    assert "Ticket 424242 not found." in page
    client.force_login(desk["agent"])
    assert client.get(reverse("web:console_routing_rules")).status_code == 403


def test_an_agent_away_by_inactivity_is_back_online_on_the_next_console_page(client, desk):
    agent = desk["agent"]
    routing.set_presence(agent, Presence.ONLINE, actor=agent)
    routing.expire_presence(now() + dt.timedelta(minutes=30))
    assert AgentProfile.objects.get(user=agent).presence == Presence.AWAY
    client.force_login(agent)
    client.get(reverse("web:console_at_risk"), headers={"HX-Request": "true"})  # a page refreshing itself
    assert AgentProfile.objects.get(user=agent).presence == Presence.AWAY
    client.get(reverse("web:console_tickets"))
    assert AgentProfile.objects.get(user=agent).presence == Presence.ONLINE
