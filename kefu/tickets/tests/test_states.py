"""The status machine, driven by random action sequences through the real services."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from kefu.accounts.models import Role
from kefu.core.errors import DomainError
from kefu.testing import factories
from kefu.tickets import selectors, services
from kefu.tickets.models import Message, Ticket, TicketEvent
from kefu.tickets.states import TERMINAL, WORKING, Action, IllegalTransition, Status, allowed_actions, next_status


def test_every_status_but_the_terminal_ones_has_a_way_forward():
    for status in Status:
        assert bool(allowed_actions(status)) == (status not in {Status.CANCELLED, Status.MERGED})


def test_resolved_can_only_be_confirmed_or_objected():
    assert set(allowed_actions(Status.RESOLVED)) == {Action.CONFIRM, Action.OBJECT}


def test_illegal_move_names_status_and_action():
    with pytest.raises(IllegalTransition, match="cannot confirm a ticket that is open"):
        next_status(Status.OPEN, Action.CONFIRM)


STAFF_MOVES = [Action.WAIT_CUSTOMER, Action.WAIT_INTERNAL, Action.RESUME, Action.CANCEL, Action.REOPEN]


class TicketLifecycle(RuleBasedStateMachine):
    """Random sequences of everything agents and customers do; the model says what must happen."""

    @initialize()
    def open_one(self):
        self.agent = factories.staff(Role.AGENT)
        self.ticket = factories.ticket()
        self.customer_user = self.ticket.customer.user
        self.status = Status.NEW
        self.verified = False
        self.events = TicketEvent.objects.filter(ticket=self.ticket).count()
        self.offered: list[int] = []
        self.chosen = False

    def _reload(self) -> None:
        self.ticket = Ticket.objects.select_related("customer").get(pk=self.ticket.pk)

    def _attempt(self, legal: bool, call) -> None:
        before = TicketEvent.objects.filter(ticket=self.ticket).count()
        if legal:
            call()
            after = TicketEvent.objects.filter(ticket=self.ticket).count()
            assert after > before, "every change leaves an event"
        else:
            with pytest.raises(DomainError):
                call()
            self._reload()  # the refused call's transaction rolled back; drop its in-memory edits
            assert TicketEvent.objects.filter(ticket=self.ticket).count() == before

    @rule()
    def accept(self):
        legal = self.status == Status.NEW
        self._attempt(legal, lambda: services.accept_ticket(self.ticket, actor=self.agent))
        if legal:
            self.status = Status.OPEN

    @rule(action=st.sampled_from(STAFF_MOVES))
    def staff_move(self, action):
        try:
            target = next_status(self.status, action)
        except IllegalTransition:
            target = None
        self._attempt(target is not None, lambda: services.change_status(self.ticket, action, actor=self.agent))
        if target is not None:
            if action == Action.REOPEN:
                self.verified = False
            self.status = target

    @rule()
    def reply(self):
        legal = self.status not in TERMINAL
        self._attempt(legal, lambda: services.reply_to_customer(self.ticket, "update", actor=self.agent))
        if legal and self.status == Status.NEW:
            self.status = Status.OPEN

    @rule()
    def customer_writes(self):
        legal = self.status not in TERMINAL
        self._attempt(legal, lambda: services.add_customer_message(self.ticket, "more info",
                                                                   actor=self.customer_user))
        if legal and self.status == Status.WAITING_CUSTOMER:
            self.status = Status.OPEN

    @rule(count=st.integers(min_value=0, max_value=4))
    def propose(self, count):
        legal = (self.status in WORKING or self.status == Status.NEW) and 1 <= count <= 3
        options = [{"title": f"Option {i}"} for i in range(count)]
        self._attempt(legal, lambda: services.propose_solutions(self.ticket, options, actor=self.agent))
        if legal:
            self.status = Status.OPEN if self.status == Status.NEW else self.status
            self.offered = list(self.ticket.solutions.order_by("-round", "position").values_list("pk", flat=True)
                                [:count])
            self.chosen = False

    @rule(index=st.integers(min_value=0, max_value=2))
    def choose(self, index):
        option = self.offered[index] if index < len(self.offered) else -1
        legal = option != -1 and not self.chosen and self.status in WORKING
        self._attempt(legal, lambda: services.choose_solution(self.ticket, option, actor=self.customer_user))
        if legal:
            self.chosen = True
            if self.status == Status.WAITING_CUSTOMER:
                self.status = Status.OPEN

    @rule()
    def verify(self):
        legal = self.status in WORKING and not self.verified
        self._attempt(legal, lambda: services.verify_fix(self.ticket, actor=self.agent))
        if legal:
            self.verified = True

    @rule()
    def resolve(self):
        legal = self.status in WORKING and self.verified
        self._attempt(legal, lambda: services.resolve_ticket(self.ticket, actor=self.agent))
        if legal:
            self.status = Status.RESOLVED

    @rule()
    def confirm(self):
        legal = self.status == Status.RESOLVED
        self._attempt(legal, lambda: services.confirm_resolution(self.ticket, actor=self.customer_user))
        if legal:
            self.status = Status.CLOSED

    @rule()
    def object_(self):
        legal = self.status == Status.RESOLVED
        self._attempt(legal, lambda: services.object_to_resolution(self.ticket, "not fixed",
                                                                   actor=self.customer_user))
        if legal:
            self.status = Status.OPEN
            self.verified = False

    @rule()
    def note(self):
        services.add_internal_note(self.ticket, "internal", actor=self.agent)

    @invariant()
    def database_agrees_with_the_model(self):
        if not hasattr(self, "ticket"):
            return
        ticket = Ticket.objects.get(pk=self.ticket.pk)
        assert ticket.status == self.status
        assert ticket.fix_verified == self.verified
        if ticket.status not in {Status.NEW, Status.CANCELLED}:
            assert ticket.owner_id is not None or ticket.status == Status.MERGED
        if ticket.status == Status.RESOLVED:
            assert ticket.resolved_at is not None
        if ticket.status == Status.CLOSED:
            assert ticket.closed_at is not None
        if ticket.reopened_count:
            assert ticket.status != Status.NEW
        assert ticket.message_count == Message.objects.filter(ticket=ticket).count()

    @invariant()
    def customer_never_sees_internal_notes(self):
        if not hasattr(self, "ticket"):
            return
        kinds = set(selectors.visible_messages(self.customer_user, self.ticket).values_list("kind", flat=True))
        assert Message.Kind.NOTE not in kinds
        assert all(e.public for e in selectors.timeline(self.customer_user, self.ticket))


@pytest.mark.django_db
def test_random_action_sequences_keep_the_invariants():
    run_state_machine_as_test(
        TicketLifecycle,
        settings=settings(max_examples=25, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
