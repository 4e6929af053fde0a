"""Frontline authority through the console, as the people who use it: an agent decides within the limit
alone and asks for approval above it; a supervisor (or, above the supervisors' limit, an administrator)
approves or rejects; administrators set the limits."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.accounts.models import Department, Role, User
from kefu.approvals import services
from kefu.approvals.models import AuthorityLimit, Decision, DecisionKind
from kefu.core.models import AuditEntry
from kefu.notifications.models import StaffAlert
from kefu.testing import factories
from kefu.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

APPROVALS = "/console/approvals/"
AUTHORITY = "/console/authority/"


def _login(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def team() -> Department:
    return factories.department("Billing")


@pytest.fixture
def agent(team: Department) -> User:
    return factories.staff(Role.AGENT, teams=(team,), name="Agent Zhou")


@pytest.fixture
def ticket(agent: User, team: Department) -> Ticket:
    return factories.worked_ticket(agent, team=team)


def _decide(client: Client, ticket: Ticket, amount: str, kind: str = "refund", reason: str = "Parcel lost") -> str:
    response = client.post(f"/console/tickets/{ticket.pk}/decisions/new/",
                           {"kind": kind, "amount": amount, "reason": reason}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _settle(client: Client, decision: Decision, action: str, reason: str = "", **extra: str) -> str:
    response = client.post(f"/console/approvals/{decision.pk}/decide/",
                           {"action": action, "reason": reason, **extra}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _timeline(ticket: Ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket, type__startswith="approval_").order_by("pk")
                .values_list("type", flat=True))


def test_within_the_limit_the_agent_decides_alone(agent, ticket):
    supervisor = factories.staff(Role.SUPERVISOR)
    page = _decide(_login(agent), ticket, "150", reason="Parcel lost by the courier")
    assert "Decided: Refund of 150.00 CNY. Tell the customer in a reply." in page
    assert "Decided Refund of 150.00 CNY within their limit: Parcel lost by the courier" in page  # the timeline
    decision = Decision.objects.get(ticket=ticket)
    assert (decision.state, decision.decided_by, decision.amount) == ("decided", agent, Decimal("150.00"))
    assert _timeline(ticket) == ["approval_decided_alone"]
    assert not TicketEvent.objects.get(type="approval_decided_alone").public  # the customer does not see it
    assert AuditEntry.objects.filter(action="approvals.decided_alone", target_id=str(decision.pk)).exists()
    assert not StaffAlert.objects.filter(user=supervisor).exists()


def test_approval_above_the_limit(agent, ticket, team):
    own_supervisor = factories.staff(Role.SUPERVISOR, teams=(team,), name="Supervisor Li")
    other_supervisor = factories.staff(Role.SUPERVISOR, teams=(factories.department(),))
    page = _decide(_login(agent), ticket, "500", reason="Broken on arrival, customer is a VIP")
    assert "Refund of 500.00 CNY is above your limit: approval requested." in page
    assert "Waiting for approval" in page
    decision = Decision.objects.get(ticket=ticket)
    assert (decision.state, decision.approver_role) == ("pending", "supervisor")
    # The supervisors of the ticket's team hear of it, not the others.
    alert = StaffAlert.objects.get(user=own_supervisor)
    assert alert.ticket_id == ticket.pk and "asks to approve Refund of 500.00 CNY" in alert.text
    assert not StaffAlert.objects.filter(user=other_supervisor).exists()

    supervisor = _login(own_supervisor)
    queue = supervisor.get(APPROVALS).content.decode()
    assert "Broken on arrival, customer is a VIP" in queue and f"#{ticket.number}" in queue
    page = _settle(supervisor, decision, "approve", "Fine, keep the customer")
    assert f"Approved: Refund of 500.00 CNY on #{ticket.number}." in page
    assert "No request is waiting for you." in page  # settled: out of the waiting list, into the recent one
    decision.refresh_from_db()
    assert (decision.state, decision.decided_by, decision.decision_reason) == (
        "approved", own_supervisor, "Fine, keep the customer")
    assert _timeline(ticket) == ["approval_requested", "approval_approved"]
    ticket_page = _login(agent).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Asked a supervisor to approve Refund of 500.00 CNY: Broken on arrival, customer is a VIP" in ticket_page
    assert "Approved Refund of 500.00 CNY asked by Agent Zhou: Fine, keep the customer" in ticket_page
    assert "approved your Refund of 500.00 CNY" in StaffAlert.objects.get(user=agent).text
    assert AuditEntry.objects.filter(action="approvals.approved", actor=own_supervisor,
                                     target_id=str(decision.pk)).exists()
    assert not TicketEvent.objects.filter(ticket=ticket, type__startswith="approval_", public=True).exists()


def test_a_rejection_needs_a_reason_which_the_requester_reads(agent, ticket, team):
    supervisor_user = factories.staff(Role.SUPERVISOR, teams=(team,))
    _decide(_login(agent), ticket, "80", kind="goodwill-credit")  # the agents' default limit is 50
    decision = Decision.objects.get()
    supervisor = _login(supervisor_user)
    assert "Say why you reject the request." in _settle(supervisor, decision, "reject", "  ")
    decision.refresh_from_db()
    assert decision.state == "pending"
    page = _settle(supervisor, decision, "reject", "Offer a replacement instead", next="ticket")
    assert "Rejected Goodwill credit of 80.00 CNY asked by" in page and "Offer a replacement instead" in page
    decision.refresh_from_db()
    assert decision.state == "rejected"
    assert "Offer a replacement instead" in StaffAlert.objects.get(user=agent).text


def test_an_agent_cannot_approve(agent, ticket):
    _decide(_login(agent), ticket, "900")
    decision = Decision.objects.get()
    colleague = _login(factories.staff(Role.AGENT))
    assert colleague.get(APPROVALS).status_code == 403
    assert colleague.post(f"/console/approvals/{decision.pk}/decide/", {"action": "approve"}).status_code == 403
    assert _login(factories.staff(Role.QA)).post(
        f"/console/approvals/{decision.pk}/decide/", {"action": "approve"}).status_code == 403
    decision.refresh_from_db()
    assert decision.state == "pending"


def test_a_supervisor_cannot_approve_their_own_request(ticket):
    supervisor_user = factories.staff(Role.SUPERVISOR)
    admin = factories.staff(Role.ADMIN)
    supervisor = _login(supervisor_user)
    page = _decide(supervisor, ticket, "2500")  # above the supervisors' own limit of 2000
    assert "approval requested" in page
    decision = Decision.objects.get()
    assert decision.approver_role == "admin"
    assert supervisor.post(f"/console/approvals/{decision.pk}/decide/", {"action": "approve"}).status_code == 403
    assert decision.pk not in [d.pk for d in services_queue(supervisor_user)]
    assert StaffAlert.objects.filter(user=admin, kind="approval_requested").exists()
    assert not StaffAlert.objects.filter(user=supervisor_user).exists()
    assert "Approved: Refund of 2500.00 CNY" in _settle(_login(admin), decision, "approve")
    decision.refresh_from_db()
    assert decision.state == "approved"


def services_queue(user: User) -> list[Decision]:
    from kefu.approvals.selectors import approval_queue

    return approval_queue(user).waiting


def test_an_administrator_decides_what_is_above_the_supervisors_limit(agent, ticket, team):
    supervisor_user = factories.staff(Role.SUPERVISOR, teams=(team,))
    admin_user = factories.staff(Role.ADMIN)
    _decide(_login(agent), ticket, "3000")
    decision = Decision.objects.get()
    assert decision.approver_role == "admin"
    assert StaffAlert.objects.filter(user=admin_user).exists()
    assert not StaffAlert.objects.filter(user=supervisor_user).exists()
    supervisor = _login(supervisor_user)
    queue = supervisor.get(APPROVALS).content.decode()
    assert "No request is waiting for you." in queue and "Waiting for someone else" in queue
    assert supervisor.post(f"/console/approvals/{decision.pk}/decide/", {"action": "approve"}).status_code == 403
    _settle(_login(admin_user), decision, "approve")
    decision.refresh_from_db()
    assert (decision.state, decision.decided_by) == ("approved", admin_user)


def test_a_request_is_settled_once(agent, ticket):
    first, second = factories.staff(Role.SUPERVISOR), factories.staff(Role.SUPERVISOR)
    _decide(_login(agent), ticket, "600")
    decision = Decision.objects.get()
    _settle(_login(first), decision, "approve")
    page = _settle(_login(second), decision, "reject", "Too much")
    assert "This request was settled already (Approved)." in page
    decision.refresh_from_db()
    assert (decision.state, decision.decided_by) == ("approved", first)
    assert _timeline(ticket) == ["approval_requested", "approval_approved"]


def test_refused_input_is_explained_and_records_nothing(agent, ticket):
    client = _login(agent)
    assert "The amount must be more than zero." in _decide(client, ticket, "0")
    assert "The amount must be more than zero." in _decide(client, ticket, "-20")
    assert "Enter the amount as a number" in _decide(client, ticket, "lots")
    assert "at most two decimals" in _decide(client, ticket, "10.005")
    assert "Choose what you decide" in _decide(client, ticket, "10", kind="yacht")
    assert "Say why" in _decide(client, ticket, "10", reason=" ")
    DecisionKind.objects.filter(key="refund").update(active=False)
    assert "This kind of decision is not in use." in _decide(client, ticket, "10")
    assert not Decision.objects.exists() and _timeline(ticket) == []


def test_a_qa_reviewer_cannot_decide_and_a_foreign_ticket_is_not_found(ticket):
    qa = _login(factories.staff(Role.QA))
    assert qa.post(f"/console/tickets/{ticket.pk}/decisions/new/",
                   {"kind": "refund", "amount": "10", "reason": "x"}).status_code == 403
    outsider = _login(factories.staff(Role.AGENT, teams=(factories.department(),)))
    assert outsider.post(f"/console/tickets/{ticket.pk}/decisions/new/",
                         {"kind": "refund", "amount": "10", "reason": "x"}).status_code == 404
    assert outsider.post("/console/tickets/999999/decisions/new/",
                         {"kind": "refund", "amount": "10", "reason": "x"}).status_code == 404
    assert not Decision.objects.exists()


def test_only_the_requester_withdraws_a_pending_request(agent, ticket, team):
    client = _login(agent)
    _decide(client, ticket, "700")
    decision = Decision.objects.get()
    colleague = _login(factories.staff(Role.AGENT, teams=(team,)))
    assert colleague.post(f"/console/decisions/{decision.pk}/withdraw/").status_code == 403
    page = client.post(f"/console/decisions/{decision.pk}/withdraw/", follow=True).content.decode()
    assert "The request was withdrawn." in page and "Withdrew the request for Refund of 700.00 CNY." in page
    decision.refresh_from_db()
    assert decision.state == "withdrawn"
    again = client.post(f"/console/decisions/{decision.pk}/withdraw/", follow=True).content.decode()
    assert "This request was settled already (Withdrawn)." in again
    supervisor = factories.staff(Role.SUPERVISOR)
    assert "This request was settled already" in _settle(_login(supervisor), decision, "approve")


def test_only_administrators_edit_the_limits(agent, ticket):
    refund = DecisionKind.objects.get(key="refund")
    form = {f"agent-{refund.pk}": "1000", f"supervisor-{refund.pk}": "5000", f"active-{refund.pk}": "on"}
    for role in (Role.AGENT, Role.SUPERVISOR, Role.QA):
        client = _login(factories.staff(role))
        assert client.get(AUTHORITY).status_code == 403
        assert client.post(AUTHORITY, form).status_code == 403
    assert AuthorityLimit.objects.get(kind=refund, role="agent").max_amount == Decimal("200.00")

    admin_user = factories.staff(Role.ADMIN)
    admin = _login(admin_user)
    editor = admin.get(AUTHORITY).content.decode()
    assert 'value="200.00"' in editor and "Refund" in editor
    form = {}
    for row in DecisionKind.objects.all():  # the form posts every kind; unchanged ones stay as they were
        limits = dict(AuthorityLimit.objects.filter(kind=row).values_list("role", "max_amount"))
        form |= {f"agent-{row.pk}": str(limits.get("agent", "")),
                 f"supervisor-{row.pk}": str(limits.get("supervisor", "")), f"active-{row.pk}": "on"}
    fee_waiver = DecisionKind.objects.get(key="fee-waiver")
    form |= {f"agent-{refund.pk}": "1,000", f"agent-{fee_waiver.pk}": ""}
    page = admin.post(AUTHORITY, form, follow=True).content.decode()
    assert "The limits are saved (2 changes)." in page
    assert AuthorityLimit.objects.get(kind=refund, role="agent").max_amount == Decimal("1000.00")
    assert not AuthorityLimit.objects.filter(kind=fee_waiver, role="agent").exists()
    assert AuditEntry.objects.filter(action="approvals.limit_changed", actor=admin_user).count() == 2

    agent_client = _login(agent)
    assert "Refund — alone up to 1000.00 CNY" in agent_client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Decided: Refund of 900.00 CNY" in _decide(agent_client, ticket, "900")
    page = _decide(agent_client, ticket, "1", kind="fee-waiver")  # no limit: every amount is asked for
    assert "above your limit: approval requested" in page and "Fee waiver — always needs approval" in page


def test_a_bad_limit_is_explained_and_nothing_is_saved():
    refund = DecisionKind.objects.get(key="refund")
    admin = _login(factories.staff(Role.ADMIN))
    page = admin.post(AUTHORITY, {f"agent-{refund.pk}": "a lot", f"supervisor-{refund.pk}": "1"},
                      follow=True).content.decode()
    assert "Refund: enter the limit as a number, or leave it empty." in page
    assert AuthorityLimit.objects.get(kind=refund, role="supervisor").max_amount == Decimal("2000.00")


def test_the_ticket_card_shows_each_persons_limits(agent, ticket):
    page = _login(agent).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Refund — alone up to 200.00 CNY" in page and "Compensation — alone up to 100.00 CNY" in page
    admin_page = _login(factories.staff(Role.ADMIN)).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Refund — no limit" in admin_page
    qa_page = _login(factories.staff(Role.QA)).get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "No refund or compensation decided on this ticket." in qa_page
    assert "Decide or request approval" not in qa_page


def _requests(agent: User, count: int, ticket: Ticket | None = None) -> None:
    refund = DecisionKind.objects.get(key="refund")
    for _n in range(count):
        services.record_decision(ticket or factories.worked_ticket(agent), kind=refund, amount=Decimal("999"),
                                 reason="Broken", actor=agent)


def _cost(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_approvals_page_costs_the_same_queries_for_one_request_or_twenty():
    agent = factories.staff(Role.AGENT)
    supervisor = _login(factories.staff(Role.SUPERVISOR))
    _requests(agent, 1)
    one = _cost(supervisor, APPROVALS)
    _requests(agent, 19)
    assert _cost(supervisor, APPROVALS) <= one
    assert supervisor.get(APPROVALS).content.decode().count("Approve</button>") == 20


def test_the_ticket_card_costs_the_same_queries_for_one_decision_or_twenty(agent, ticket):
    supervisor = _login(factories.staff(Role.SUPERVISOR))
    _requests(agent, 1, ticket)
    one = _cost(supervisor, f"/console/tickets/{ticket.pk}/")
    _requests(agent, 19, ticket)
    assert _cost(supervisor, f"/console/tickets/{ticket.pk}/") <= one


def test_the_timeline_names_the_kind_in_the_readers_language(agent, ticket):
    _decide(_login(agent), ticket, "150", reason="Parcel lost")
    reader = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    reader.force_login(agent)
    page = reader.get(f"/console/tickets/{ticket.pk}/").content.decode()
    event = re.search(r'<li class="event-approval_decided_alone">(.*?)</li>', page, re.S)
    assert event is not None and "退款" in event.group(1) and "Refund" not in event.group(1)
