"""Service-level clocks end to end, through the real services with the clock moved by hand."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connections, transaction

from kefu.accounts.models import Role
from kefu.core.clock import frozen_at
from kefu.customers.services import set_customer_tier
from kefu.notifications.models import Notification, StaffAlert
from kefu.notifications.services import render_notification
from kefu.sla import services as sla
from kefu.sla.models import OPEN_STATES, BusinessCalendar, CalendarException, SlaPolicy, TicketClock, TicketSla
from kefu.testing import factories
from kefu.tickets import services
from kefu.tickets.models import Priority, TicketEvent

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
State, Kind = TicketClock.State, TicketClock.Kind


def _clock(ticket, kind, name=""):
    return TicketClock.objects.filter(ticket=ticket, kind=kind, name=name).order_by("-id").first()


def _events(ticket, type_):
    return list(TicketEvent.objects.filter(ticket=ticket, type=type_).order_by("id"))


def _team_with_people():
    team = factories.department()
    return team, factories.staff(teams=(team,)), factories.staff(Role.SUPERVISOR, teams=(team,))


def test_an_urgent_ticket_without_a_reply_warns_at_24_minutes_and_breaches_at_30():
    team, owner, supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.ticket(priority=Priority.URGENT, team=team)
        services.assign_ticket(ticket, owner, actor=supervisor)
    assert TicketSla.objects.get(ticket=ticket).policy_name == "Urgent"
    assert _clock(ticket, Kind.FIRST_RESPONSE).due_at == MONDAY_10 + dt.timedelta(minutes=30)

    assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=23, seconds=59)) == 0
    assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=24)) == 1
    assert _clock(ticket, Kind.FIRST_RESPONSE).state == State.WARNING
    assert [e.payload["clock"] for e in _events(ticket, "sla_warning")] == ["first_response"]
    assert StaffAlert.objects.filter(user=owner, kind="sla_warning", ticket_id=ticket.pk).exists()
    assert not StaffAlert.objects.filter(user=supervisor, kind="sla_warning").exists()
    [email] = Notification.objects.filter(recipient=owner.email, template="staff_alert")
    subject, body = render_notification(email)
    assert subject == f"[#{ticket.number}] First response on #{ticket.number} is due at 2026-11-23 10:30."
    assert "- First response on" in body

    assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=29)) == 0
    assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=30)) == 1
    clock = _clock(ticket, Kind.FIRST_RESPONSE)
    assert clock.state == State.BREACHED and clock.breached_at == MONDAY_10 + dt.timedelta(minutes=30)
    assert len(_events(ticket, "sla_breached")) == 1
    assert StaffAlert.objects.filter(user=supervisor, kind="sla_breached", ticket_id=ticket.pk).exists()
    assert sla.sweep(MONDAY_10 + dt.timedelta(hours=5)) == 0  # a breached clock is not reported twice


def test_a_reply_in_time_meets_the_first_response_and_starts_the_update_cadence():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, priority=Priority.URGENT, team=team)
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=10)):
        services.reply_to_customer(ticket, "We are on it.", actor=owner)
    first = _clock(ticket, Kind.FIRST_RESPONSE)
    assert first.state == State.MET and first.met_at == MONDAY_10 + dt.timedelta(minutes=10)
    update = _clock(ticket, Kind.UPDATE)
    assert update.state == State.RUNNING and update.due_at == MONDAY_10 + dt.timedelta(hours=4, minutes=10)
    assert sla.sweep(MONDAY_10 + dt.timedelta(hours=1)) == 0


def test_a_complex_ticket_without_its_daily_update_breaches():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, complexity="complex", team=team)
        services.reply_to_customer(ticket, "Diagnosing.", actor=owner)
        services.propose_solutions(ticket, [{"title": "Replace", "description": "A new unit", "tradeoffs": ""}],
                                   actor=owner)
    assert TicketSla.objects.get(ticket=ticket).policy_name == "Complex"
    update = _clock(ticket, Kind.UPDATE)
    # One working day (8 working hours) on the office calendar: Monday 10:00 → Tuesday 10:00.
    assert update.due_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    sla.sweep(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))
    assert _clock(ticket, Kind.UPDATE).state == State.BREACHED
    # The Complex policy's breach action raises the priority, on the timeline.
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert [e.payload["after"] for e in _events(ticket, "escalated")] == [Priority.HIGH]


def test_milestones_start_on_acceptance_and_are_met_by_the_work():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, complexity="complex", team=team)
    diagnosis = _clock(ticket, Kind.MILESTONE, "diagnosis")
    assert diagnosis.due_at == MONDAY_10 + dt.timedelta(hours=1)
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=40)):
        services.add_internal_note(ticket, "Root cause: expired certificate.", actor=owner)
    assert _clock(ticket, Kind.MILESTONE, "diagnosis").state == State.MET
    assert _clock(ticket, Kind.MILESTONE, "solution_plan").state == State.RUNNING
    with frozen_at(MONDAY_10 + dt.timedelta(hours=2)):
        services.propose_solutions(ticket, [{"title": "Renew", "description": "Renew it", "tradeoffs": ""}],
                                   actor=owner)
    assert _clock(ticket, Kind.MILESTONE, "solution_plan").state == State.MET


def test_waiting_on_the_customer_pauses_the_clock_and_extends_the_due_time():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, priority=Priority.NORMAL, team=team)
    resolution = _clock(ticket, Kind.RESOLUTION)
    # 8 working hours from Monday 10:00 (lunch 12–13): Tuesday 10:00.
    assert resolution.due_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    with frozen_at(MONDAY_10 + dt.timedelta(hours=1)):
        services.change_status(ticket, "wait_customer", actor=owner)
    paused = _clock(ticket, Kind.RESOLUTION)
    assert paused.state == State.PAUSED and paused.due_at is None and paused.remaining_seconds == 7 * 3600
    assert sla.sweep(dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)) == 0  # a paused clock never breaches
    with frozen_at(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)):
        services.add_customer_message(ticket, "Here is the screenshot.", actor=ticket.customer.user)
    resumed = _clock(ticket, Kind.RESOLUTION)
    # 7 h left from Tuesday 9:00: 9–12 and 13–17.
    assert resumed.state == State.RUNNING
    assert resumed.due_at == dt.datetime(2026, 11, 24, 17, 0, tzinfo=SHANGHAI)


def test_an_objection_starts_the_twelve_hour_reevaluation_clock():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, priority=Priority.URGENT, team=team)
        services.reply_to_customer(ticket, "Fixed, please check.", actor=owner)
        services.verify_fix(ticket, actor=owner)
        services.resolve_ticket(ticket, actor=owner)
    assert _clock(ticket, Kind.UPDATE).state == State.CANCELLED
    objection = MONDAY_10 + dt.timedelta(hours=3)
    with frozen_at(objection):
        services.object_to_resolution(ticket, "Still broken.", actor=ticket.customer.user)
    reevaluation = _clock(ticket, Kind.REEVALUATION)
    assert reevaluation.state == State.RUNNING and reevaluation.due_at == objection + dt.timedelta(hours=12)
    sla.sweep(objection + dt.timedelta(hours=12))
    assert _clock(ticket, Kind.REEVALUATION).state == State.BREACHED


def test_vip_customers_ride_the_priority_lane():
    team, _owner, supervisor = _team_with_people()
    vip = factories.customer()
    set_customer_tier(vip, "vip", actor=supervisor)
    with frozen_at(MONDAY_10):
        ticket = factories.ticket(vip, priority=Priority.URGENT, team=team)
    assert _clock(ticket, Kind.FIRST_RESPONSE).due_at == MONDAY_10 + dt.timedelta(minutes=15)


def test_changing_the_priority_rematches_the_policy_and_keeps_the_start():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, priority=Priority.NORMAL, team=team)
    assert TicketSla.objects.get(ticket=ticket).policy_name == "Important and regular"
    with frozen_at(MONDAY_10 + dt.timedelta(minutes=5)):
        services.update_ticket(ticket, actor=owner, priority=Priority.URGENT)
    assert TicketSla.objects.get(ticket=ticket).policy_name == "Urgent"
    assert _clock(ticket, Kind.FIRST_RESPONSE).due_at == MONDAY_10 + dt.timedelta(minutes=30)
    assert [e.payload["policy"] for e in _events(ticket, "sla_policy_changed")] == ["Urgent"]


def test_closing_stops_every_clock():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        ticket = factories.worked_ticket(owner, priority=Priority.URGENT, team=team)
        services.change_status(ticket, "cancel", actor=owner, reason="duplicate")
    assert not TicketClock.objects.filter(ticket=ticket, state__in=OPEN_STATES).exists()
    assert sla.sweep(MONDAY_10 + dt.timedelta(days=3)) == 0


def test_a_holiday_added_by_an_admin_moves_due_times_at_once():
    team, owner, _supervisor = _team_with_people()
    policy = SlaPolicy.objects.get(name="Important and regular")
    friday_17 = dt.datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI)
    with frozen_at(friday_17):
        before = factories.worked_ticket(owner, priority=Priority.NORMAL, team=team)
    # 8 working hours from Friday 17:00: Monday 30 November 17:00.
    assert _clock(before, Kind.RESOLUTION).due_at == dt.datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI)
    assert policy.calendar is not None
    CalendarException.objects.create(calendar=policy.calendar, date=dt.date(2026, 11, 30),
                                     kind=CalendarException.Kind.HOLIDAY, name="Company day")
    with frozen_at(friday_17):
        after = factories.worked_ticket(owner, priority=Priority.NORMAL, team=team)
    assert _clock(after, Kind.RESOLUTION).due_at == dt.datetime(2026, 12, 1, 17, 0, tzinfo=SHANGHAI)


def test_bad_calendar_and_milestone_settings_are_explained():
    from django.core.exceptions import ValidationError

    calendar = BusinessCalendar(name="Broken", week={"0": [[600, 540]], "9": []}, time_zone="Mars/Olympus")
    with pytest.raises(ValidationError) as caught:
        calendar.full_clean()
    assert "0 ≤ start < end ≤ 1440" in str(caught.value) and "not 0–6" in str(caught.value)
    policy = SlaPolicy(name="Bad", milestones=[{"name": "diagnosis", "minutes": -5}])
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "positive whole number" in str(caught.value)


def test_one_sweep_sends_each_person_one_email_however_many_deadlines():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        tickets = [factories.worked_ticket(owner, priority=Priority.URGENT, team=team) for _ in range(3)]
    sla.sweep(MONDAY_10 + dt.timedelta(minutes=25))
    assert StaffAlert.objects.filter(user=owner, kind="sla_warning").count() == 3
    [email] = Notification.objects.filter(recipient=owner.email, template="staff_alert")
    subject, body = render_notification(email)
    assert subject == "3 alerts from kefu"
    assert all(f"#{t.number}" in body for t in tickets)


def test_the_sweeps_events_name_the_clock_its_due_time_and_who_had_the_ticket():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        warned = factories.worked_ticket(owner, priority=Priority.URGENT, team=team)
    with frozen_at(MONDAY_10 + dt.timedelta(microseconds=250)):  # a due time with microseconds, as most have
        breached = factories.ticket(priority=Priority.URGENT, team=team)
    sla.sweep(MONDAY_10 + dt.timedelta(minutes=25))
    sla.sweep(MONDAY_10 + dt.timedelta(minutes=31))

    [warning] = _events(warned, "sla_warning")
    assert warning.payload == {"clock": "first_response", "name": "", "team": team.pk, "owner": owner.pk,
                               "due_at": "2026-11-23T02:30:00+00:00"}
    [breach] = _events(breached, "sla_breached")
    assert breach.payload == {"clock": "first_response", "name": "", "team": team.pk, "owner": None,
                              "due_at": "2026-11-23T02:30:00.000250+00:00"}
    assert (breach.actor_id, breach.public, breach.at) == (None, False, MONDAY_10 + dt.timedelta(minutes=31))
    assert dt.datetime.fromisoformat(breach.payload["due_at"]) == _clock(breached, Kind.FIRST_RESPONSE).due_at


# Skipped at collection, as kefu/routing/tests/test_concurrency.py explains: on SQLite a transactional test would
# empty the database for the tests after it.
@pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                    reason="SQLite has one writer at a time: two sweeps cannot overlap there")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sweep_skips_the_clocks_another_sweep_holds_and_reports_each_clock_once():
    team, owner, _supervisor = _team_with_people()
    with frozen_at(MONDAY_10):
        tickets = [factories.worked_ticket(owner, priority=Priority.URGENT, team=team) for _ in range(3)]
    held = _clock(tickets[0], Kind.FIRST_RESPONSE)
    locked, release = threading.Event(), threading.Event()

    def other_sweep_holding_one_clock() -> None:
        try:
            with transaction.atomic():
                TicketClock.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_sweep_holding_one_clock)
    other.start()
    try:
        assert locked.wait(10)
        assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=25)) == 2
        assert _clock(tickets[0], Kind.FIRST_RESPONSE).state == State.RUNNING
    finally:
        release.set()
        other.join()
    assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=25)) == 1
    assert sla.sweep(MONDAY_10 + dt.timedelta(minutes=25)) == 0
    assert [len(_events(t, "sla_warning")) for t in tickets] == [1, 1, 1]
    assert StaffAlert.objects.filter(user=owner, kind="sla_warning").count() == 3
