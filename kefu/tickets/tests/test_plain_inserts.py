"""Plain inserts and updates (kefu/core/bulk.py), tried on the models intake writes: they store what
save() would have stored."""

import pytest

from kefu.accounts.models import User
from kefu.core.bulk import insert_many, insert_one, update_one
from kefu.core.clock import now
from kefu.notifications.models import Notification
from kefu.testing import factories
from kefu.tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_insert_one_sets_the_key_and_applies_defaults():
    customer = factories.customer()
    ticket = insert_one(Ticket(subject="Printer on fire", customer=customer, channel="api"))
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.subject == "Printer on fire" and stored.customer == customer
    assert stored.status == "new" and len(stored.tracking_token) >= 20  # model defaults
    assert stored.created_at is not None  # auto_now_add
    assert not ticket._state.adding


def test_insert_many_takes_keys_of_parents_saved_after_the_children_were_built():
    customer = factories.customer()
    ticket = Ticket(subject="Two events", customer=customer)
    events = [TicketEvent(ticket=ticket, type="created", at=now(), payload={"n": 1}),
              TicketEvent(ticket=ticket, type="note", at=now(), payload={"text": "退款"})]
    message = Message(ticket=ticket, kind=Message.Kind.CUSTOMER, body_text="hello")
    insert_one(ticket)
    insert_many(events)
    insert_one(message)
    assert list(TicketEvent.objects.filter(ticket=ticket).order_by("pk").values_list("type", "payload")) == [
        ("created", {"n": 1}), ("note", {"text": "退款"})]
    assert Message.objects.get(pk=message.pk).ticket_id == ticket.pk
    insert_many([])  # nothing to do is not an error
    assert Notification.objects.count() == 0


def test_update_one_changes_only_the_named_columns():
    agent = factories.staff()
    moment = now()
    update_one(User, agent.pk, last_assigned_at=moment)
    agent.refresh_from_db()
    assert agent.last_assigned_at == moment and agent.is_active
    with pytest.raises(ValueError, match="concrete fields"):
        update_one(User, agent.pk, departments=[])
