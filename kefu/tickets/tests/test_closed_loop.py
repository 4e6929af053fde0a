from __future__ import annotations

import datetime as dt

import pytest

from kefu.accounts.models import Role
from kefu.core.clock import frozen_at
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.models import Notification
from kefu.testing import factories
from kefu.tickets import services
from kefu.tickets.models import TicketEvent
from kefu.tickets.states import Status

pytestmark = pytest.mark.django_db


def test_intake_assigns_owner_and_tells_customer_number_owner_and_link():
    team = factories.department("Billing")
    agent = factories.staff(Role.AGENT, teams=(team,), name="Li Wei")
    customer = factories.customer()
    ticket = services.open_ticket(customer=customer, subject="Refund", description="Where is it?",
                                  actor=customer.user, team=team)
    assert ticket.status == Status.OPEN
    assert ticket.owner == agent
    ack = Notification.objects.get(ticket_id=ticket.pk, template="ticket_received")
    assert ack.recipient == customer.email
    assert ack.context["owner_name"] == "Li Wei"
    assert ack.context["number"] == ticket.number
    assert ticket.tracking_token in ack.context["tracking_url"]


def test_whole_loop_from_intake_to_confirmed_closure():
    agent = factories.staff()
    ticket = factories.ticket()
    customer_user = ticket.customer.user
    services.reply_to_customer(ticket, "Looking into it", actor=agent)
    assert ticket.status == Status.OPEN and ticket.first_response_at is not None
    [first, _second] = services.propose_solutions(
        ticket, [{"title": "Reset password", "tradeoffs": "fast"}, {"title": "Unlock account"}], actor=agent
    )
    services.choose_solution(ticket, first.pk, actor=customer_user)
    with pytest.raises(DomainError, match="Verify the fix"):
        services.resolve_ticket(ticket, actor=agent)
    services.verify_fix(ticket, actor=agent)
    services.resolve_ticket(ticket, actor=agent, summary="Password reset")
    assert ticket.status == Status.RESOLVED
    services.confirm_resolution(ticket, actor=customer_user)
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    types = list(TicketEvent.objects.filter(ticket=ticket).values_list("type", flat=True))
    assert types[0] == "created" and "solution_chosen" in types and "fix_verified" in types


def test_objection_reopens_with_reevaluation_deadline_and_needs_new_verification():
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    services.verify_fix(ticket, actor=agent)
    services.resolve_ticket(ticket, actor=agent)
    moment = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    with frozen_at(moment):
        services.object_to_resolution(ticket, "Still broken", actor=ticket.customer.user)
    assert ticket.status == Status.OPEN
    assert ticket.reevaluation_due_at == moment + dt.timedelta(hours=12)
    assert ticket.reopened_count == 1 and ticket.fix_verified_at is None


def test_illegal_transition_is_refused_with_a_clear_message():
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    with pytest.raises(DomainError, match="cannot be confirmed"):
        services.confirm_resolution(ticket, actor=ticket.customer.user)


def test_customer_cannot_choose_solution_on_someone_elses_ticket():
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    [option] = services.propose_solutions(ticket, [{"title": "Refund"}], actor=agent)
    stranger = factories.customer()
    with pytest.raises(PermissionDenied):
        services.choose_solution(ticket, option.pk, actor=stranger.user)


def test_qa_reviewer_cannot_reply():
    qa = factories.staff(Role.QA)
    ticket = factories.ticket()
    with pytest.raises(PermissionDenied):
        services.reply_to_customer(ticket, "hi", actor=qa)


def test_identity_verification_by_order_number_is_recorded():
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    from kefu.customers.services import add_order_reference

    add_order_reference(ticket.customer, "SO-1001", actor=agent)
    with pytest.raises(DomainError, match="does not match"):
        services.verify_customer_identity(ticket, "order", "SO-9999", actor=agent)
    services.verify_customer_identity(ticket, "order", "so-1001", actor=agent)
    assert ticket.identity_verified and ticket.identity_verified_method == "order"


def test_merge_folds_duplicate_into_open_ticket():
    agent = factories.staff()
    customer = factories.customer()
    first = factories.worked_ticket(agent, customer_=customer)
    dup = factories.ticket(customer)
    services.merge_ticket(dup, first, actor=agent)
    assert dup.status == Status.MERGED and dup.merged_into == first


def test_html_is_sanitised_by_allow_list():
    agent = factories.staff()
    ticket = factories.worked_ticket(agent)
    message = services.reply_to_customer(
        ticket, "see", actor=agent, html='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:x">l</a></p>'
    )
    assert "script" not in message.body_html and "onclick" not in message.body_html
    assert "javascript" not in message.body_html and "<p>Hi" in message.body_html


def test_intake_takes_turns_between_the_teams_agents():
    team = factories.department()
    agents = [factories.staff(Role.AGENT, teams=(team,)) for _ in range(3)]
    factories.staff(Role.AGENT)  # another team's agent never gets this team's tickets
    owners = [factories.ticket(team=team, auto_assign=True).owner for _ in range(5)]
    assert owners == [agents[0], agents[1], agents[2], agents[0], agents[1]]


def test_a_ticket_without_a_team_goes_to_a_support_agent_and_the_agents_first_team():
    billing, delivery = factories.department("Billing"), factories.department("Delivery")
    factories.department("Legal", kind="department")  # not a support team
    teamless = factories.staff(Role.AGENT)
    in_two = factories.staff(Role.AGENT, teams=(delivery, billing))
    in_one = factories.staff(Role.AGENT, teams=(delivery,))
    tickets = [factories.ticket(auto_assign=True) for _ in range(3)]
    assert [(t.owner, t.team) for t in tickets] == [(in_two, billing), (in_one, delivery), (in_two, billing)]
    assert teamless not in {t.owner for t in tickets}


def test_only_when_no_agent_is_in_a_support_team_does_any_agent_take_a_ticket_without_a_team():
    agent = factories.staff(Role.AGENT)
    ticket = factories.ticket(auto_assign=True)
    assert (ticket.owner, ticket.team, ticket.status) == (agent, None, Status.OPEN)
    empty_team = factories.department()
    unowned = factories.ticket(team=empty_team, auto_assign=True)
    assert (unowned.owner, unowned.team, unowned.status) == (None, empty_team, Status.NEW)


def test_a_resolution_nobody_answers_closes_itself_after_the_window_and_tells_the_customer(settings):
    settings.KEFU = {**settings.KEFU, "RESOLVED_AUTO_CLOSE_DAYS": 7}
    agent = factories.staff()
    resolved_at = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
    answered, silent = (factories.worked_ticket(agent, customer_=factories.customer(language="en"))
                        for _ in range(2))
    with frozen_at(resolved_at):
        for ticket in (answered, silent):
            services.verify_fix(ticket, actor=agent)
            services.resolve_ticket(ticket, actor=agent)
        services.object_to_resolution(answered, "Not fixed", actor=answered.customer.user)
    with frozen_at(resolved_at + dt.timedelta(days=6, hours=23)):
        assert services.close_unconfirmed_resolutions() == 0
    with frozen_at(resolved_at + dt.timedelta(days=7)):
        assert services.close_unconfirmed_resolutions() == 1
        assert services.close_unconfirmed_resolutions() == 0  # once
    silent.refresh_from_db()
    answered.refresh_from_db()
    assert (silent.status, silent.closed_at) == (Status.CLOSED, resolved_at + dt.timedelta(days=7))
    assert answered.status == Status.OPEN
    closing = TicketEvent.objects.get(ticket=silent, type="status_changed", payload__auto_closed=True)
    assert closing.public and closing.actor is None
    notice = Notification.objects.filter(ticket_id=silent.pk, template="ticket_update").latest("pk")
    assert "did not hear back" in notice.context["summary"]
