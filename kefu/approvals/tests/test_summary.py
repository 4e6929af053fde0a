"""The decisions as analytics read them: per kind and agent in a period, amounts and approval times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kefu.accounts.models import Role
from kefu.approvals import selectors, services
from kefu.approvals.models import DecisionKind
from kefu.core.clock import advance, frozen_at
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.models import StaffAlert
from kefu.testing import factories

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_summary_counts_states_amounts_and_approval_time_per_kind_and_agent():
    agent, other = factories.staff(Role.AGENT, name="Agent A"), factories.staff(Role.AGENT, name="Agent B")
    supervisor = factories.staff(Role.SUPERVISOR)
    refund, credit = DecisionKind.objects.get(key="refund"), DecisionKind.objects.get(key="goodwill-credit")
    with frozen_at(MONDAY):
        ticket = factories.worked_ticket(agent)
        services.record_decision(ticket, kind=refund, amount=Decimal("100"), reason="Late", actor=agent)
        asked = services.record_decision(ticket, kind=refund, amount=Decimal("800"), reason="Lost", actor=agent)
        refused = services.record_decision(ticket, kind=refund, amount=Decimal("400"), reason="Again", actor=agent)
        services.record_decision(ticket, kind=credit, amount=Decimal("20"), reason="Sorry", actor=other)
        advance(dt.timedelta(minutes=30))
        services.decide_request(asked, approve=True, actor=supervisor)
        advance(dt.timedelta(minutes=30))
        services.decide_request(refused, approve=False, reason="No", actor=supervisor)
    with frozen_at(MONDAY + dt.timedelta(days=10)):  # outside the period
        services.record_decision(ticket, kind=refund, amount=Decimal("50"), reason="Later", actor=agent)

    rows = selectors.decision_summary(supervisor, start=MONDAY, end=MONDAY + dt.timedelta(days=7))
    by_key = {(r.kind, r.requested_by): r for r in rows}
    assert set(by_key) == {("refund", "Agent A"), ("goodwill-credit", "Agent B")}
    refunds = by_key["refund", "Agent A"]
    states = (refunds.count, refunds.decided_alone, refunds.approved, refunds.rejected, refunds.pending)
    assert states == (3, 1, 1, 1, 0)
    assert refunds.amount_granted == Decimal("900.00") and refunds.amount_requested == Decimal("1300.00")
    assert refunds.mean_approval_seconds == 45 * 60  # 30 and 60 minutes
    assert by_key["goodwill-credit", "Agent B"].mean_approval_seconds is None
    assert selectors.decision_summary(agent, start=MONDAY, end=MONDAY + dt.timedelta(days=7)) == []


def test_a_request_settled_meanwhile_cannot_be_settled_again_from_a_stale_copy():
    agent, first, second = (factories.staff(Role.AGENT), factories.staff(Role.SUPERVISOR),
                            factories.staff(Role.SUPERVISOR))
    decision = services.record_decision(factories.worked_ticket(agent), kind=DecisionKind.objects.get(key="refund"),
                                        amount=Decimal("700"), reason="Lost", actor=agent)
    stale = selectors.get_decision_for(second, decision.pk)
    services.decide_request(decision, approve=True, actor=first)
    with pytest.raises(DomainError, match="settled already"):
        services.decide_request(stale, approve=False, reason="No", actor=second)
    with pytest.raises(PermissionDenied):
        services.withdraw_decision(stale, actor=second)


def test_amounts_typed_by_people():
    assert services.parse_amount(" 1,200.5 ") == Decimal("1200.50")
    assert services.parse_amount("1e3") == Decimal("1000.00")
    for bad in ("", "1e3x", "NaN", "Infinity", "1.234", "1e30", "12345678901"):
        with pytest.raises(DomainError):
            services.parse_amount(bad)


def test_a_request_left_waiting_is_brought_up_once_to_the_approvers():
    team = factories.department()
    agent, supervisor = factories.staff(Role.AGENT, teams=(team,)), factories.staff(Role.SUPERVISOR, teams=(team,))
    refund = DecisionKind.objects.get(key="refund")
    with frozen_at(MONDAY):
        ticket = factories.worked_ticket(agent, team=team)
        waiting = services.record_decision(ticket, kind=refund, amount=Decimal("900"), reason="Lost", actor=agent)
        settled = services.record_decision(ticket, kind=refund, amount=Decimal("950"), reason="Lost", actor=agent)
        services.withdraw_decision(settled, actor=agent)
        advance(dt.timedelta(minutes=59))
        assert services.remind_waiting_requests() == 0
        advance(dt.timedelta(minutes=2))
        assert services.remind_waiting_requests() == 1
        assert services.remind_waiting_requests() == 0  # once
    reminders = StaffAlert.objects.filter(user=supervisor, kind="approval_reminder")
    assert [a.text for a in reminders] == [
        f"#{ticket.number}: {agent.name} is still waiting for approval of Refund of 900.00 CNY."]
    assert reminders[0].ticket_id == waiting.ticket_id
