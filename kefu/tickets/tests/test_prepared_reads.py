"""Reads compiled once (kefu/core/prepared.py), tried on the ticket models intake reads: they give what
the queryset itself gives."""

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from kefu.core.prepared import Prepared, numbered, statement_cursor
from kefu.testing import factories
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _by_subject(subject: str, customer_id: int) -> QuerySet[Ticket]:
    return (Ticket.objects.select_related("customer", "owner", "team")
            .filter(subject=subject, customer_id=customer_id, status__in=["new", "open"]).order_by("-pk")[:5])


by_subject = Prepared(_by_subject, [str, int])


def test_rows_with_their_related_objects_match_the_orm(django_assert_num_queries):
    team = factories.department()
    agent = factories.staff(teams=(team,))
    customer = factories.customer()
    unowned = factories.ticket(customer, subject="Refund")
    owned = factories.ticket(customer, subject="Refund", team=team, auto_assign=True)
    factories.ticket(customer, subject="Something else")
    factories.ticket(subject="Refund")  # another customer's

    found = by_subject.all("Refund", customer.pk)

    assert [t.pk for t in found] == [t.pk for t in _by_subject("Refund", customer.pk)] == [owned.pk, unowned.pk]
    with django_assert_num_queries(0):  # the joined objects came with the row
        assert found[0].owner == agent and found[0].team == team and found[0].customer == customer
        assert found[1].owner is None and found[1].team is None
        assert found[0].created_at == owned.created_at  # converted to an aware datetime
        assert found[0].created_at.tzinfo is not None


def test_each_call_uses_its_own_arguments():
    customer = factories.customer()
    factories.ticket(customer, subject="Refund")
    assert by_subject.first("Refund", customer.pk) is not None
    assert by_subject.first("Refund", customer.pk + 1000) is None
    assert by_subject.first("Delivery", customer.pk) is None


def test_querysets_it_cannot_replay_are_refused():
    with pytest.raises(ValueError, match="sliced"):
        Prepared(lambda subject: Ticket.objects.filter(subject=subject), [str]).all("x")
    with pytest.raises(ValueError, match="do not reach"):
        Prepared(lambda subject: Ticket.objects.all()[:1], [str]).all("x")


_tricky = "O'Brien's 100% \\ refund; --%s $1"


def _by_constant_subject(customer_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(subject=_tricky, customer_id=customer_id).order_by("pk")[:5]


by_constant_subject = Prepared(_by_constant_subject, [int])


def test_constants_with_quotes_and_percent_signs_match_exactly():
    # On PostgreSQL the queryset's constants are written into the prepared statement's text.
    customer = factories.customer()
    wanted = factories.ticket(customer, subject=_tricky)
    factories.ticket(customer, subject="O'Brien's 100% refund")
    assert [t.pk for t in by_constant_subject.all(customer.pk)] == [wanted.pk]
    assert by_constant_subject.all(customer.pk + 1000) == []


def test_a_read_run_past_the_prepare_threshold_keeps_finding_its_rows():
    # Prepared once per connection on PostgreSQL, then reused: the second and later runs must agree.
    customer = factories.customer()
    factories.ticket(customer, subject="Refund")
    with transaction.atomic():
        for _ in range(8):
            assert by_subject.first("Refund", customer.pk) is not None


def test_statements_take_positional_placeholders_only():
    # PostgreSQL's own placeholders are written in once per statement text; a named one would be sent unfilled.
    assert numbered("SELECT %s, '100%%' WHERE a = %s") == "SELECT $1, '100%' WHERE a = $2"
    with pytest.raises(ValueError, match="only %s"):
        numbered("SELECT %(name)s")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reads_keep_working_on_a_new_connection_and_inside_one_another():
    # On PostgreSQL the thread keeps one cursor for these statements; it must follow the connection.
    customer = factories.customer()
    ticket = factories.ticket(customer, subject="Refund")
    assert by_subject.first("Refund", customer.pk) == ticket
    connection.close()
    assert by_subject.first("Refund", customer.pk) == ticket
    with statement_cursor(connection) as outer:
        outer.execute("SELECT %s", [1])
        assert by_subject.first("Refund", customer.pk) == ticket  # a cursor of its own while the outer is open
        assert outer.fetchone()[0] == 1
