"""Collaboration requests as their users meet them: the owner raises from the ticket page, the department
works from its inbox, the clocks run on the department's calendar, and the ledger reads it all back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from kefu.accounts.models import Department, Role, User
from kefu.collaboration import services
from kefu.collaboration.models import ClockState, CollaborationRequest, CoordinationMeeting
from kefu.core.clock import advance, frozen_at
from kefu.notifications.models import Notification, StaffAlert
from kefu.sla.models import BusinessCalendar
from kefu.testing import factories
from kefu.tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SH)  # an ordinary working Monday
FRIDAY_17 = dt.datetime(2026, 12, 11, 17, 0, tzinfo=SH)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _member(department: Department) -> User:
    return factories.staff(Role.DEPARTMENT, teams=(department,), name=f"{department.name} member")


@pytest.fixture
def setting() -> tuple[User, Ticket, Department, User]:
    """An agent owning an accepted ticket; the logistics department with one member."""
    owner = factories.staff(Role.AGENT, name="Agent Han")
    ticket = factories.worked_ticket(owner, subject="Parcel lost on the way",
                                     customer_=factories.customer("Li Lei", email="lilei@example.com",
                                                                  phone="13800000000"))
    logistics = factories.department("Logistics", kind=Department.Kind.OTHER)
    return owner, ticket, logistics, _member(logistics)


def _raise(client: Client, ticket: Ticket, department: Department, due: dt.datetime, **extra: str) -> None:
    response = client.post(f"/console/tickets/{ticket.pk}/requests/new/", {
        "department": department.pk, "need": "Trace the parcel with the carrier",
        "deliverable": "The carrier's trace report", "acceptance_standard": "Shows the last scan and location",
        "due_at": due.astimezone(SH).strftime("%Y-%m-%dT%H:%M"), "context": "Order 4411, shipped 1 Dec", **extra})
    assert response.status_code == 302


def _step(client: Client, request: CollaborationRequest, step: str, text: str = "") -> int:
    return client.post(f"/console/requests/{request.pk}/step/", {"step": step, "text": text}).status_code


def _customer_notifications(ticket: Ticket) -> int:
    return Notification.objects.filter(recipient__in=[ticket.customer.email, ticket.customer.phone]).count()


def _events(ticket: Ticket) -> list[str]:
    return [t for t in TicketEvent.objects.filter(ticket=ticket).order_by("at", "id").values_list("type", flat=True)
            if t.startswith(("collab_", "meeting_"))]


def test_request_is_accepted_and_delivered_in_time_and_every_step_is_on_the_ticket_timeline(setting):
    owner, ticket, logistics, member = setting
    with frozen_at(MONDAY_10):
        ticket.accepted_at = MONDAY_10 - dt.timedelta(minutes=20)
        ticket.save(update_fields=["accepted_at"])
        owner_client, member_client = _client(owner), _client(member)
        _raise(owner_client, ticket, logistics, MONDAY_10 + dt.timedelta(hours=6))
        request = CollaborationRequest.objects.get()
        assert request.raised_in_time is True
        assert request.response_due_at == MONDAY_10 + dt.timedelta(hours=2)
        assert StaffAlert.objects.filter(user=member, kind="collab_raised").exists()
        before = _customer_notifications(ticket)

        advance(dt.timedelta(minutes=30))
        inbox = member_client.get("/console/requests/").content.decode()
        assert "Trace the parcel with the carrier" in inbox and f"#{ticket.number}" in inbox
        page = member_client.get(f"/console/requests/{request.pk}/").content.decode()
        assert "Order 4411, shipped 1 Dec" in page and "Parcel lost on the way" in page
        assert "lilei@example.com" not in page and "13800000000" not in page  # no contact details
        assert "Please get back to me." not in page  # nor the customer's messages
        assert _step(member_client, request, "accept") == 302

        advance(dt.timedelta(hours=3))
        assert _step(member_client, request, "deliver", "Last scan: Hangzhou hub, 3 Dec.") == 302
        request.refresh_from_db()
        assert request.state == CollaborationRequest.State.DELIVERED
        assert (request.response_state, request.resolution_state) == (ClockState.MET, ClockState.MET)
        assert StaffAlert.objects.filter(user=owner, kind="collab_delivered").exists()
        assert _customer_notifications(ticket) == before  # the department never reaches the customer

        assert _step(owner_client, request, "accept_delivery") == 302
        request.refresh_from_db()
        assert request.state == CollaborationRequest.State.DONE
    assert _events(ticket) == ["collab_raised", "collab_accepted", "collab_delivered", "collab_done"]
    assert not TicketEvent.objects.filter(ticket=ticket, type__startswith="collab_", public=True).exists()
    timeline = owner_client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Logistics accepted the collaboration request." in timeline
    assert "Accepted the delivery of Logistics." in timeline


def test_a_late_response_is_warned_then_breached_on_the_department_calendar(setting):
    owner, ticket, logistics, member = setting
    with frozen_at(FRIDAY_17):
        _raise(_client(owner), ticket, logistics, FRIDAY_17 + dt.timedelta(days=5))
        request = CollaborationRequest.objects.get()
        # Two hours of office hours: Friday 17:00-18:00, then Monday 09:00-10:00.
        assert request.response_due_at == dt.datetime(2026, 12, 14, 10, 0, tzinfo=SH)
        advance(dt.timedelta(hours=40))  # Sunday: nothing has come due in working time
        assert services.breach_due_requests() == 0
        advance(dt.timedelta(hours=24, minutes=40))  # Monday 09:40, past 80 %
        assert services.breach_due_requests() == 1
        request.refresh_from_db()
        assert request.response_state == ClockState.WARNING
        assert {a.user_id for a in StaffAlert.objects.filter(kind="collab_warning")} == {owner.pk, member.pk}
        assert services.breach_due_requests() == 0  # each step is reported once
        advance(dt.timedelta(minutes=21))  # 10:01
        assert services.breach_due_requests() == 1
        request.refresh_from_db()
        assert request.response_state == ClockState.BREACHED
        assert StaffAlert.objects.filter(kind="collab_breached", user=member).exists()
        assert _step(_client(member), request, "accept") == 302
        request.refresh_from_db()
        assert request.response_state == ClockState.BREACHED and request.responded_at is not None
    assert _events(ticket) == ["collab_raised", "collab_warning", "collab_breached", "collab_accepted"]
    page = _client(owner).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Collaboration: the department&#x27;s response is overdue" in page


def test_a_department_with_its_own_calendar_answers_on_its_own_hours(setting):
    owner, ticket, logistics, _ = setting
    always = {str(day): [[0, 1440]] for day in range(7)}
    logistics.calendar = BusinessCalendar.objects.create(name="Warehouse 24/7", week=always, china_holidays=False)
    logistics.save(update_fields=["calendar"])
    with frozen_at(FRIDAY_17):
        _raise(_client(owner), ticket, logistics, FRIDAY_17 + dt.timedelta(days=1))
    assert CollaborationRequest.objects.get().response_due_at == FRIDAY_17 + dt.timedelta(hours=2)


def test_missing_the_delivery_time_breaches_and_a_rejected_delivery_runs_again(setting):
    owner, ticket, logistics, member = setting
    with frozen_at(MONDAY_10):
        _raise(_client(owner), ticket, logistics, MONDAY_10 + dt.timedelta(hours=4))
        request = CollaborationRequest.objects.get()
        member_client, owner_client = _client(member), _client(owner)
        assert _step(member_client, request, "ask", "Which carrier was it?") == 302
        request.refresh_from_db()
        assert request.state == CollaborationRequest.State.ASKED_BACK
        assert request.response_state == ClockState.MET  # asking back is a response
        assert StaffAlert.objects.filter(user=owner, kind="collab_asked").exists()
        assert _step(member_client, request, "deliver", "too early") == 302  # not accepted yet: refused
        assert _step(owner_client, request, "answer", "SF Express") == 302
        request.refresh_from_db()
        assert request.state == CollaborationRequest.State.RAISED
        assert _step(member_client, request, "accept") == 302
        assert _step(member_client, request, "deliver", "A guess") == 302
        assert _step(owner_client, request, "reject_delivery", "No scan data in it") == 302
        request.refresh_from_db()
        assert (request.state, request.resolution_state) == (CollaborationRequest.State.ACCEPTED,
                                                             ClockState.RUNNING)
        advance(dt.timedelta(hours=4, minutes=1))
        services.breach_due_requests()
        request.refresh_from_db()
        assert request.resolution_state == ClockState.BREACHED
        page = member_client.get(f"/console/requests/{request.pk}/").content.decode()
        assert "Which carrier was it?" in page and "SF Express" in page and "No scan data in it" in page
    assert _events(ticket) == ["collab_raised", "collab_asked", "collab_answered", "collab_accepted",
                               "collab_delivered", "collab_rejected", "collab_breached"]


def test_raising_late_after_acceptance_is_recorded_and_shown(setting):
    owner, ticket, logistics, _ = setting
    with frozen_at(MONDAY_10):
        ticket.accepted_at = MONDAY_10 - dt.timedelta(hours=2)
        ticket.save(update_fields=["accepted_at"])
        _raise(_client(owner), ticket, logistics, MONDAY_10 + dt.timedelta(days=1))
    assert CollaborationRequest.objects.get().raised_in_time is False
    assert "raised late" in _client(owner).get(f"/console/tickets/{ticket.pk}/").content.decode()


def test_department_members_see_only_their_departments_requests_and_never_the_ticket(setting):
    owner, ticket, logistics, member = setting
    finance = factories.department("Finance", kind=Department.Kind.OTHER)
    outsider = _member(finance)
    with frozen_at(MONDAY_10):
        _raise(_client(owner), ticket, logistics, MONDAY_10 + dt.timedelta(days=1))
    request = CollaborationRequest.objects.get()
    outsider_client = _client(outsider)
    assert "Trace the parcel" not in outsider_client.get("/console/requests/?show=all").content.decode()
    assert outsider_client.get(f"/console/requests/{request.pk}/").status_code == 404
    assert _step(outsider_client, request, "accept") == 404
    member_client = _client(member)
    assert member_client.get(f"/console/tickets/{ticket.pk}/").status_code == 404  # only what was shared
    assert member_client.get("/console/tickets/").status_code == 404
    assert member_client.post(f"/console/tickets/{ticket.pk}/requests/new/", {}).status_code == 404
    customer_client = _client(ticket.customer.user)
    assert customer_client.get("/console/requests/").status_code == 404
    assert customer_client.get(f"/console/requests/{request.pk}/").status_code == 404
    # Staff do the owner's steps only as the owner, a supervisor or an admin; never the department's.
    colleague = factories.staff(Role.SUPERVISOR)
    assert _step(_client(colleague), request, "accept") == 403
    other_agent = factories.staff(Role.AGENT)
    assert _step(_client(other_agent), request, "cancel") in (403, 404)
    request.refresh_from_db()
    assert request.state == CollaborationRequest.State.RAISED


def test_only_the_owner_side_raises_and_only_to_other_departments(setting):
    owner, ticket, _, _ = setting
    support = factories.department("Tier 2", kind=Department.Kind.SUPPORT)
    qa = factories.staff(Role.QA)
    with frozen_at(MONDAY_10):
        assert _client(qa).post(f"/console/tickets/{ticket.pk}/requests/new/", {
            "department": support.pk, "need": "x", "deliverable": "y", "acceptance_standard": "z",
            "due_at": "2026-12-08T10:00"}).status_code == 403
        client = _client(owner)
        _raise(client, ticket, support, MONDAY_10 + dt.timedelta(days=1))
        _raise(client, factories.worked_ticket(owner), factories.department("Eng", kind=Department.Kind.OTHER),
               MONDAY_10 - dt.timedelta(hours=1))
        response = client.get(f"/console/tickets/{ticket.pk}/")
    assert not CollaborationRequest.objects.exists()
    assert "Choose one of the other departments." in response.content.decode()


def test_a_meeting_plan_is_shared_with_the_customer_only_by_the_owner(setting):
    owner, ticket, _logistics, member = setting
    with frozen_at(MONDAY_10):
        client = _client(owner)
        response = client.post(f"/console/tickets/{ticket.pk}/meetings/new/", {
            "held_at": "2026-12-07T09:30", "participants": [owner.pk, member.pk],
            "other_participants": "Carrier liaison", "decisions": "Re-ship today; claim with the carrier",
            "plan_what_0": "Re-ship the order", "plan_who_0": "Logistics", "plan_when_0": "2026-12-07T15:00",
            "plan_what_1": "File the carrier claim", "plan_who_1": "Finance", "plan_when_1": "2026-12-09T12:00"})
        assert response.status_code == 302
        meeting = CoordinationMeeting.objects.get()
        assert meeting.plan_state == ClockState.MET
        assert meeting.plan_due_at == dt.datetime(2026, 12, 7, 11, 30, tzinfo=SH)
        before = _customer_notifications(ticket)
        assert _client(factories.staff(Role.QA)).post(f"/console/meetings/{meeting.pk}/share/").status_code == 403
        assert _client(member).post(f"/console/meetings/{meeting.pk}/share/").status_code == 404
        assert client.post(f"/console/meetings/{meeting.pk}/share/").status_code == 302
    reply = Message.objects.filter(ticket=ticket, kind=Message.Kind.REPLY).latest("id")
    assert "Re-ship the order" in reply.body_text and "File the carrier claim" in reply.body_text
    assert _customer_notifications(ticket) == before + 1
    assert _events(ticket) == ["meeting_recorded", "meeting_plan_shared"]
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Shared with the customer" in page and "Carrier liaison" in page


def test_a_meeting_without_a_plan_two_hours_later_is_overdue(setting):
    owner, ticket, _, _ = setting
    with frozen_at(MONDAY_10):
        meeting = services.record_meeting(ticket, held_at=MONDAY_10, decisions="Escalate to the carrier",
                                          other_participants="Carrier liaison", actor=owner)
        advance(dt.timedelta(minutes=100))
        assert services.breach_due_plans() == 1
        advance(dt.timedelta(minutes=21))
        assert services.breach_due_plans() == 1
        meeting.refresh_from_db()
        assert meeting.plan_state == ClockState.BREACHED
        assert StaffAlert.objects.filter(user=owner, kind="collab_breached").exists()
        client = _client(owner)
        assert client.post(f"/console/meetings/{meeting.pk}/plan/", {
            "plan_what_0": "Call the carrier", "plan_who_0": "Agent Han",
            "plan_when_0": "2026-12-07T16:00"}).status_code == 302
    meeting.refresh_from_db()
    assert meeting.plan_ready_at is not None and meeting.plan_state == ClockState.BREACHED
    assert "the meeting&#x27;s plan is overdue" in client.get(f"/console/tickets/{ticket.pk}/").content.decode()


def test_the_ledger_counts_times_and_compliance_per_department(setting):
    owner, ticket, logistics, member = setting
    finance = factories.department("Finance", kind=Department.Kind.OTHER)
    with frozen_at(MONDAY_10):
        client = _client(owner)
        _raise(client, ticket, logistics, MONDAY_10 + dt.timedelta(hours=5))
        _raise(client, factories.worked_ticket(owner), logistics, MONDAY_10 + dt.timedelta(hours=5))
        _raise(client, factories.worked_ticket(owner), finance, MONDAY_10 + dt.timedelta(hours=5))
        first, second = CollaborationRequest.objects.filter(department=logistics).order_by("pk")
        advance(dt.timedelta(hours=1))
        services.accept_request(first, actor=member)
        advance(dt.timedelta(hours=2))
        services.accept_request(second, actor=member)
        services.deliver(second, "done", actor=member)
        advance(dt.timedelta(hours=3))  # 16:00, past every due time
        services.breach_due_requests()
    supervisor_page = _client(factories.staff(Role.SUPERVISOR)).get("/console/collaboration/ledger/?month=2026-12")
    html = supervisor_page.content.decode()
    assert 'data-department="Finance"' in html and 'data-department="Logistics"' in html
    rows = {row.department.name: row for row, _r, _s in supervisor_page.context["rows"]}
    assert rows["Logistics"].received == 2
    assert rows["Logistics"].response_compliance == 50.0  # one in time, one late
    assert rows["Logistics"].median_response == dt.timedelta(hours=2)
    assert rows["Logistics"].resolution_compliance == 50.0  # one delivered in time, one overdue
    assert [r.pk for r in rows["Logistics"].overdue] == [first.pk]
    assert len(rows["Finance"].overdue) == 1
    member_page = _client(member).get("/console/collaboration/ledger/").content.decode()
    assert 'data-department="Logistics"' in member_page and 'data-department="Finance"' not in member_page
    assert _client(factories.staff(Role.AGENT)).get("/console/collaboration/ledger/").status_code == 404
    november = _client(factories.staff(Role.ADMIN)).get("/console/collaboration/ledger/?month=2026-11")
    assert {row.department.name: row.received for row, _r, _s in november.context["rows"]}["Logistics"] == 0


@pytest.mark.parametrize("path", ["/console/requests/?show=all", "/console/collaboration/ledger/"])
def test_list_pages_do_not_grow_queries_with_rows(setting, path, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner, ticket, logistics, member = setting
    supervisor = factories.staff(Role.SUPERVISOR)

    def queries() -> int:
        with CaptureQueriesContext(connection) as one:
            assert _client(member).get(path).status_code == 200
            assert _client(supervisor).get(path).status_code == 200
        return len(one)

    with frozen_at(MONDAY_10):
        services.raise_request(ticket, department=logistics, need="n", deliverable="d", acceptance_standard="a",
                               due_at=MONDAY_10 + dt.timedelta(hours=1), actor=owner)
        advance(dt.timedelta(hours=3))
        services.breach_due_requests()
        single = queries()
        for _ in range(19):
            services.raise_request(factories.worked_ticket(owner), department=logistics, need="n", deliverable="d",
                                   acceptance_standard="a", due_at=MONDAY_10 + dt.timedelta(hours=4), actor=owner)
        advance(dt.timedelta(hours=2))
        services.breach_due_requests()
        with django_assert_max_num_queries(single):
            queries()


def test_the_ticket_page_card_does_not_grow_queries_with_requests_and_meetings(setting, activity_noted_once,
                                                                               django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner, ticket, logistics, member = setting
    client = _client(owner)
    url = f"/console/tickets/{ticket.pk}/"

    def add_one() -> None:
        services.raise_request(ticket, department=logistics, need="n", deliverable="d", acceptance_standard="a",
                               due_at=MONDAY_10 + dt.timedelta(hours=4), actor=owner)
        services.record_meeting(ticket, held_at=MONDAY_10, decisions="d", participants=[owner, member],
                                plan=[services.PlanLine("w", "x", MONDAY_10)], actor=owner)

    with frozen_at(MONDAY_10):
        add_one()
        client.get(url)  # the session's first page records the agent's activity
        with CaptureQueriesContext(connection) as one:
            assert client.get(url).status_code == 200
        for _ in range(9):
            add_one()
        with django_assert_max_num_queries(len(one)):
            page = client.get(url)
    assert page.content.decode().count('data-meeting="') == 10
