"""Routing through the real services and database: rules, strategies, presence, capacity, get next,
transfers, re-routing on breach, and queue alerts by console, email and webhook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kefu.accounts.models import AgentProfile, Presence, Role, Skill
from kefu.core.clock import frozen_at, now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.customers.models import Tier
from kefu.customers.services import set_customer_tier
from kefu.notifications.models import Notification, StaffAlert, WebhookDelivery, WebhookEndpoint
from kefu.routing import engine, selectors
from kefu.routing import services as routing
from kefu.routing.models import Queue, QueueAlert, RoutingEntry, RoutingRule
from kefu.sla import services as sla
from kefu.sla.models import SlaPolicy
from kefu.testing import factories
from kefu.tickets import services as tickets
from kefu.tickets.models import Priority, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return factories.department("Billing")


@pytest.fixture
def admin():
    return factories.staff(Role.ADMIN)


@pytest.fixture
def supervisor(team):
    return factories.staff(Role.SUPERVISOR, teams=(team,))


def agent(team, admin, *, presence=Presence.ONLINE, skills=None, max_tickets=25, name=None, languages=None):
    user = factories.staff(teams=(team,), name=name)
    for slug in skills or {}:
        Skill.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    routing.configure_agent(user, actor=admin, skills=skills or {}, max_tickets=max_tickets, languages=languages)
    if presence != Presence.OFFLINE:
        routing.set_presence(user, presence, actor=user)
    return user


def open_ticket(subject="Where is my order?", *, customer=None, **kwargs):
    kwargs.setdefault("auto_assign", True)
    return factories.ticket(customer, subject=subject, **kwargs)


def assigned_event(ticket):
    return TicketEvent.objects.filter(ticket=ticket, type="assigned").order_by("-id").first()


def load_of(user):
    return AgentProfile.objects.get(user=user).open_tickets


def entry(ticket):
    return RoutingEntry.objects.get(ticket=ticket)


def test_a_rule_sends_a_ticket_to_the_skilled_online_agent_and_the_reason_is_on_the_timeline(team, admin):
    queue = Queue.objects.create(name="Billing", team=team, strategy="best_skill")
    RoutingRule.objects.create(name="Refunds", queue=queue, keywords=["refund", "退款"], required_skills={"refunds": 3})
    expert_offline = agent(team, admin, presence=Presence.OFFLINE, skills={"refunds": 5})
    novice = agent(team, admin, skills={"refunds": 2})
    skilled = agent(team, admin, skills={"refunds": 4})

    ticket = open_ticket("我要退款", description="订单 A-1")

    assert (ticket.owner, ticket.team, ticket.status) == (skilled, team, "open")
    event = assigned_event(ticket)
    assert event.payload["reason"] == "intake" and event.payload["strategy"] == "best_skill"
    assert event.payload["load"] == "0/25" and event.payload["score"] > 0
    assert entry(ticket).state == RoutingEntry.State.ASSIGNED and entry(ticket).required_skills == {"refunds": 3}
    assert load_of(skilled) == 1 and load_of(novice) == load_of(expert_offline) == 0


def test_without_an_eligible_agent_the_ticket_waits_and_goes_to_the_first_agent_who_comes_online(
        team, admin, django_capture_on_commit_callbacks):
    Queue.objects.create(name="Billing", team=team)
    later = agent(team, admin, presence=Presence.OFFLINE)
    ticket = open_ticket()
    ticket.refresh_from_db()
    assert ticket.owner is None and ticket.status == "new" and ticket.team == team
    assert entry(ticket).state == RoutingEntry.State.WAITING

    with django_capture_on_commit_callbacks(execute=True):
        routing.set_presence(later, Presence.ONLINE, actor=later)

    ticket.refresh_from_db()
    assert (ticket.owner, ticket.status) == (later, "open")
    assert assigned_event(ticket).payload["reason"] == "agent_available"
    assert load_of(later) == 1


def test_vip_and_urgent_are_served_before_older_standard_tickets(team, admin, django_capture_on_commit_callbacks):
    Queue.objects.create(name="Billing", team=team, strategy="round_robin")
    standard = open_ticket("old standard question")
    vip_customer = factories.customer()
    set_customer_tier(vip_customer, Tier.VIP, actor=admin)
    vip = open_ticket("vip question", customer=vip_customer)
    urgent = open_ticket("urgent outage", priority=Priority.URGENT)
    solo = agent(team, admin, presence=Presence.OFFLINE, max_tickets=2)

    with django_capture_on_commit_callbacks(execute=True):
        routing.set_presence(solo, Presence.ONLINE, actor=solo)

    owned = set(Ticket.objects.filter(owner=solo).values_list("pk", flat=True))
    assert owned == {vip.pk, urgent.pk}
    assert entry(standard).state == RoutingEntry.State.WAITING


def test_an_agent_is_never_given_more_than_capacity_and_gets_the_next_when_one_finishes(
        team, admin, django_capture_on_commit_callbacks):
    Queue.objects.create(name="Billing", team=team)
    only = agent(team, admin, max_tickets=2)
    first, second, third = open_ticket("one"), open_ticket("two"), open_ticket("three")
    assert [t.owner for t in (first, second, third)] == [only, only, None]
    assert load_of(only) == 2
    assert routing.route_waiting() == 0  # still full

    with django_capture_on_commit_callbacks(execute=True):
        tickets.cancel_ticket(first, actor=only, reason="duplicate")

    third.refresh_from_db()
    assert third.owner == only and load_of(only) == 2
    assert entry(first).state == RoutingEntry.State.DONE


def test_get_next_takes_the_first_ticket_in_service_order_that_the_agent_may_take(team, admin):
    queue = Queue.objects.create(name="Billing", team=team)
    RoutingRule.objects.create(name="German", queue=queue, keywords=["Rechnung"], required_skills={"german": 2})
    me = agent(team, admin, presence=Presence.AWAY, skills={"english": 3})
    german = open_ticket("Rechnung falsch", priority=Priority.URGENT)
    plain = open_ticket("invoice wrong")

    got = routing.pull_next(me)  # pulling works while away; skills still count

    assert got == plain and german.owner is None
    assert assigned_event(plain).payload["reason"] == "get_next"
    with pytest.raises(DomainError, match="Nothing is waiting that you can take"):
        routing.pull_next(me)
    routing.configure_agent(me, actor=admin, max_tickets=1)
    with pytest.raises(DomainError, match=r"at capacity \(1 of 1"):
        routing.pull_next(me)
    with pytest.raises(PermissionDenied):
        routing.pull_next(factories.customer().user)


def test_a_returning_customer_goes_back_to_the_agent_who_served_them(team, admin):
    Queue.objects.create(name="Billing", team=team, strategy="sticky")
    a, b = agent(team, admin), agent(team, admin)
    customer = factories.customer()
    first = open_ticket("first", customer=customer)
    others = [open_ticket(f"other {n}") for n in range(3)]
    again = open_ticket("second", customer=customer)
    assert again.owner == first.owner
    assert assigned_event(again).payload["sticky"] is True
    assert {t.owner for t in others} <= {a, b}


def test_a_transfer_to_a_team_keeps_the_ticket_and_routes_it_there_and_counts_as_a_transfer(
        team, admin, supervisor, django_capture_on_commit_callbacks):
    Queue.objects.create(name="Billing", team=team)
    tech = factories.department("Technical")
    Queue.objects.create(name="Technical", team=tech)
    mine = agent(team, admin)
    engineer = agent(tech, admin)
    ticket = open_ticket("printer on fire")
    tickets.reply_to_customer(ticket, "Looking into it.", actor=mine)

    with django_capture_on_commit_callbacks(execute=True):
        routing.transfer(ticket, actor=mine, to_team=tech, note="Hardware fault, needs an engineer.")

    ticket.refresh_from_db()
    assert (ticket.team, ticket.owner) == (tech, engineer)
    [moved] = TicketEvent.objects.filter(ticket=ticket, type="transferred")
    assert moved.payload["from_owner"] == mine.name and moved.payload["to_team"] == "Technical"
    assert ticket.messages.count() == 3  # the customer's, our reply and the transfer note: all kept
    assert load_of(mine) == 0 and load_of(engineer) == 1

    routing.transfer(ticket, actor=supervisor, to_agent=mine, to_team=team)
    ticket.refresh_from_db()
    assert ticket.owner == mine and load_of(engineer) == 0 and load_of(mine) == 1
    with pytest.raises(DomainError, match="already there"):
        routing.transfer(ticket, actor=supervisor, to_agent=mine)
    with pytest.raises(DomainError, match="Choose an agent or a team"):
        routing.transfer(ticket, actor=supervisor)


def test_a_breached_ticket_is_rerouted_to_another_agent_when_the_policy_says_so(team, admin):
    SlaPolicy.objects.filter(active=True).update(breach_action=SlaPolicy.BreachAction.REROUTE)
    Queue.objects.create(name="Billing", team=team, strategy="round_robin")
    start = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    with frozen_at(start):
        slow = agent(team, admin)
        ticket = open_ticket("urgent outage", priority=Priority.URGENT)
        other = agent(team, admin)
    assert ticket.owner == slow

    with frozen_at(start + dt.timedelta(hours=2)):
        sla.sweep(now())
        ticket.refresh_from_db()
        assert ticket.owner is None
        assert entry(ticket).excluded_agent_id == slow.pk
        routing.route_waiting()
    ticket.refresh_from_db()
    assert ticket.owner == other
    assert TicketEvent.objects.filter(ticket=ticket, type="escalated", payload__action="reroute").exists()


def test_presence_goes_away_when_idle_and_back_on_activity_then_offline(team, admin):
    me = agent(team, admin)
    start = now()
    assert routing.expire_presence(start + dt.timedelta(minutes=9)) == 0
    routing.expire_presence(start + dt.timedelta(minutes=11))
    assert AgentProfile.objects.get(user=me).presence == Presence.AWAY
    routing.note_activity(me, start + dt.timedelta(minutes=12))
    assert AgentProfile.objects.get(user=me).presence == Presence.ONLINE
    routing.expire_presence(start + dt.timedelta(minutes=23))
    routing.expire_presence(start + dt.timedelta(minutes=90))
    assert AgentProfile.objects.get(user=me).presence == Presence.OFFLINE
    routing.note_activity(me, start + dt.timedelta(minutes=91))  # offline by inactivity: activity brings back
    assert AgentProfile.objects.get(user=me).presence == Presence.ONLINE
    routing.set_presence(me, Presence.AWAY, actor=me)  # chosen by the agent: activity does not undo it
    routing.note_activity(me, start + dt.timedelta(minutes=95))
    assert AgentProfile.objects.get(user=me).presence == Presence.AWAY


def test_only_supervisors_set_someone_elses_presence_or_profile(team, admin):
    me, colleague = agent(team, admin), agent(team, admin)
    with pytest.raises(PermissionDenied):
        routing.set_presence(colleague, Presence.OFFLINE, actor=me)
    with pytest.raises(PermissionDenied):
        routing.configure_agent(me, actor=me, max_tickets=99)
    with pytest.raises(DomainError, match="Unknown skills: nope"):
        routing.configure_agent(me, actor=admin, skills={"nope": 2})
    with pytest.raises(DomainError, match="from 1 to 5"):
        routing.configure_agent(me, actor=admin, skills={"tech": 9})
    with pytest.raises(DomainError, match="A capacity goes from 0 to 1000"):
        routing.configure_agent(me, actor=admin, max_tickets=-1)
    assert AgentProfile.objects.get(user=me).max_tickets == 25  # nothing changed


def test_a_crowded_queue_alerts_its_supervisors_once_by_console_email_and_webhook(team, admin, supervisor):
    queue = Queue.objects.create(name="Billing", team=team, alert_max_waiting=2, target_wait_minutes=30)
    hook = WebhookEndpoint.objects.create(name="ops", url="http://127.0.0.1:9/hook", events=["queue_alert"])
    start = now()
    with frozen_at(start):
        waiting = [open_ticket(f"q{n}") for n in range(3)]
        assert routing.check_queue_alerts() == (1, 0)
        assert routing.check_queue_alerts() == (0, 0)  # one alert per episode
    [alert] = QueueAlert.objects.filter(queue=queue, closed_at__isnull=True)
    assert (alert.kind, alert.waiting) == ("too_many_waiting", 3)
    [notice] = StaffAlert.objects.filter(user=supervisor, kind="queue_too_many_waiting")
    assert notice.text == "Queue Billing: 3 tickets waiting (alert above 2)."
    assert Notification.objects.filter(recipient=supervisor.email, template="staff_alert").exists()
    [delivery] = WebhookDelivery.objects.filter(endpoint=hook, event_type="queue_alert")
    assert delivery.payload["waiting"] == 3 and delivery.payload["queue"] == "Billing"

    with frozen_at(start + dt.timedelta(minutes=31)):
        assert routing.check_queue_alerts() == (1, 0)  # and now the wait is too long as well
    assert StaffAlert.objects.get(user=supervisor, kind="queue_wait_too_long").text == (
        "Queue Billing: the longest wait is 31 minutes (target 30).")

    agent(team, admin)
    routing.route_waiting()
    assert all(t.owner is not None for t in Ticket.objects.filter(pk__in=[t.pk for t in waiting]))
    assert routing.check_queue_alerts() == (0, 2)
    assert not QueueAlert.objects.filter(closed_at__isnull=True).exists()


def test_loads_stay_equal_to_the_tickets_and_the_sweep_corrects_a_count_changed_behind_its_back(team, admin):
    Queue.objects.create(name="Billing", team=team)
    me = agent(team, admin)
    other = agent(team, admin, presence=Presence.OFFLINE)
    ticket = open_ticket()
    tickets.assign_ticket(ticket, other, actor=admin)
    assert (load_of(me), load_of(other)) == (0, 1)
    AgentProfile.objects.filter(user=other).update(open_tickets=7)
    assert engine.recount_all_loads() == 1
    assert load_of(other) == 1


def test_a_rule_with_an_unknown_skill_or_a_malformed_condition_is_refused(team):
    queue = Queue.objects.create(name="Billing", team=team)
    with pytest.raises(ValidationError, match="Unknown skills: ghost"):
        RoutingRule(name="x", queue=queue, required_skills={"ghost": 2}).full_clean()
    with pytest.raises(ValidationError, match="list of values"):
        RoutingRule(name="x", queue=queue, keywords="refund").full_clean()


def test_without_queues_intake_keeps_its_round_robin(team):
    a, b = factories.staff(teams=(team,)), factories.staff(teams=(team,))
    owners = [open_ticket(f"t{n}", team=team).owner for n in range(4)]
    assert owners == [a, b, a, b]
    assert not RoutingEntry.objects.exists()


def test_the_rule_preview_explains_which_conditions_hold_for_a_ticket(team):
    queue = Queue.objects.create(name="Billing", team=team)
    rule = RoutingRule.objects.create(name="Email refunds", queue=queue, channels=["email"], keywords=["refund"])
    ticket = open_ticket("refund please", auto_assign=False)
    checks = {c.condition: c.ok for c in selectors.preview_rule(rule, ticket)}
    assert checks == {"channels": False, "keywords": True}

