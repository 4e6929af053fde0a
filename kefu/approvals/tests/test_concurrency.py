"""Two approvers settling the same request at the same moment, each on its own database connection
(threads; on PostgreSQL two server backends): exactly one decision counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from kefu.accounts.models import Role
from kefu.approvals import services
from kefu.approvals.models import Decision, DecisionKind
from kefu.core.errors import DomainError
from kefu.testing import factories
from kefu.testing.concurrency import race
from kefu.tickets.models import TicketEvent

# As in kefu/routing/tests/test_concurrency.py: SQLite's in-memory test database cannot hold two writers
# waiting on each other, so the race runs on PostgreSQL (CI).
pytestmark = [
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                       reason="concurrent connections are tested on PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_supervisors_settling_one_request_at_once_settle_it_once():
    agent = factories.staff(Role.AGENT)
    first, second = factories.staff(Role.SUPERVISOR), factories.staff(Role.SUPERVISOR)
    decision = services.record_decision(factories.worked_ticket(agent), kind=DecisionKind.objects.get(key="refund"),
                                        amount=Decimal("800"), reason="Lost", actor=agent)
    copies = [Decision.objects.get(pk=decision.pk) for _ in range(2)]
    results = race(lambda: services.decide_request(copies[0], approve=True, actor=first),
                    lambda: services.decide_request(copies[1], approve=False, reason="No", actor=second))
    assert sum(isinstance(r, Decision) for r in results) == 1
    assert sum(isinstance(r, DomainError) for r in results) == 1
    settled = TicketEvent.objects.filter(ticket=decision.ticket, type__in=["approval_approved", "approval_rejected"])
    assert settled.count() == 1
    decision.refresh_from_db()
    assert decision.state == {"approval_approved": "approved", "approval_rejected": "rejected"}[settled.get().type]
