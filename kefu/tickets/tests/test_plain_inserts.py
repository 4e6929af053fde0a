"""Plain inserts and updates (kefu/core/bulk.py), tried on the models intake writes: they store what
save() would have stored."""

import pytest
from django.db import IntegrityError, transaction

from kefu.accounts.models import User
from kefu.core.bulk import ROWS_PER_STATEMENT, insert_many, insert_one, insert_rows, pipelined, together, update_one
from kefu.core.clock import now
from kefu.notifications.models import Notification
from kefu.testing import factories
from kefu.tickets.models import Channel, Message, Ticket, TicketEvent

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


def test_a_pipelined_block_stores_its_rows_and_reads_keys_inside_it():
    customer = factories.customer()
    with transaction.atomic(), pipelined():
        ticket = insert_one(Ticket(subject="Pipelined", customer=customer))
        insert_many([TicketEvent(ticket=ticket, type="created", at=now(), payload={}),
                     TicketEvent(ticket=ticket, type="note", at=now(), payload={})])
        assert Ticket.objects.filter(pk=ticket.pk).exists()  # a read inside sees the writes before it
    assert TicketEvent.objects.filter(ticket=ticket).count() == 2


@pytest.mark.parametrize("block", [pipelined, together])
def test_a_failed_statement_in_a_block_undoes_its_transaction(block):
    existing = factories.ticket()
    events_before = TicketEvent.objects.count()

    def event_then_duplicate_ticket() -> None:
        with transaction.atomic(), block():
            insert_many([TicketEvent(ticket=existing, type="note", at=now(), payload={})])
            insert_many([Ticket(subject="Same tracking link", customer=existing.customer,
                                tracking_token=existing.tracking_token)])

    with pytest.raises(IntegrityError):
        event_then_duplicate_ticket()
    assert TicketEvent.objects.count() == events_before  # the event sent before the failure is gone
    assert Ticket.objects.filter(subject="Same tracking link").count() == 0


def test_writes_sent_together_are_stored_and_seen_by_statements_inside_the_block():
    customer, agent = factories.customer(), factories.staff()
    moment = now()
    with transaction.atomic(), pipelined(), together():
        ticket = insert_one(Ticket(subject="Together", customer=customer))
        insert_many([TicketEvent(ticket=ticket, type="created", at=moment, payload={"n": 1})])
        update_one(User, agent.pk, last_assigned_at=moment)
        insert_many([TicketEvent(ticket=ticket, type="note", at=moment, payload={"n": 2})])
        insert_many([Notification(ticket_id=ticket.pk, recipient="a@example.com", template="ticket_received",
                                  language="en", context={})])
        # A read in the block (the ORM's, or a plain statement's) sees what the block wrote before it.
        assert TicketEvent.objects.filter(ticket=ticket).count() == 2
        insert_many([Message(ticket=ticket, kind=Message.Kind.CUSTOMER, body_text="hello")])
        assert insert_one(Message(ticket=ticket, kind=Message.Kind.NOTE, body_text="after")).pk is not None
    assert Message.objects.filter(ticket=ticket).count() == 2
    assert Notification.objects.filter(ticket_id=ticket.pk).count() == 1
    agent.refresh_from_db()
    assert agent.last_assigned_at == moment


def test_a_change_of_a_row_written_earlier_in_the_block_is_kept():
    # Parts of one statement do not see each other's rows: the update must not go out beside the insert.
    ticket = factories.ticket()
    event_id = 10**12  # a key given by the caller, as bench/generate.py gives them
    with transaction.atomic(), together():
        insert_rows(TicketEvent, ["id", "ticket", "type", "public", "at", "payload"],
                    [(event_id, ticket.pk, "note", False, now(), {})])
        update_one(TicketEvent, event_id, type="note_edited")
    assert TicketEvent.objects.get(pk=event_id).type == "note_edited"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as every transactional test here
def test_outside_a_transaction_nothing_is_held_back_to_be_lost():
    # Without a transaction to undo them, writes made before an error are kept, as without the block.
    ticket = factories.ticket()

    def write_then_fail() -> None:
        with together():
            insert_many([TicketEvent(ticket=ticket, type="note", at=now(), payload={"kept": True})])
            raise RuntimeError("the caller failed after writing")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert TicketEvent.objects.filter(ticket=ticket, type="note").count() == 1


def test_thousands_of_rows_are_all_stored_with_their_values():
    # On PostgreSQL they go in multi-row statements of at most ROWS_PER_STATEMENT rows each.
    ticket = factories.ticket()
    rows = [(ticket.pk, "note", None, False, now(), {"n": i, "text": "退款 100%"})
            for i in range(ROWS_PER_STATEMENT * 2 + 7)]
    assert insert_rows(TicketEvent, ["ticket", "type", "actor", "public", "at", "payload"], rows) == len(rows)
    stored = sorted(p["n"] for p in TicketEvent.objects.filter(ticket=ticket, type="note").values_list(
        "payload", flat=True))
    assert stored == list(range(len(rows)))


def test_values_of_every_kind_come_back_as_saved():
    # Plain values skip the field's conversion; anything else (choices, lazy text, JSON strings) goes through it.
    from django.utils.translation import gettext_lazy

    customer = factories.customer()
    ticket = insert_one(Ticket(subject=gettext_lazy("Refund"), customer=customer, channel=Channel.EMAIL,  # type: ignore[misc]
                               priority="high", status="new"))
    insert_many([TicketEvent(ticket=ticket, type="note", at=now(), payload="just a string", public=1)])  # type: ignore[misc]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.subject == "Refund" and stored.priority == "high" and stored.channel == "email"
    event = TicketEvent.objects.get(ticket=ticket, type="note")
    assert event.payload == "just a string" and event.public is True
