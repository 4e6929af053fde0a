import pytest
from django.db import connection

from kefu.accounts.models import Role
from kefu.testing import factories
from kefu.tickets import services
from kefu.tickets.selectors import TicketFilters, list_tickets
from kefu.tickets.tasks import merge_search_segments

pytestmark = pytest.mark.django_db


def _found(actor, q):
    return {t.pk for t in list_tickets(actor, TicketFilters(q=q)).tickets}


def test_search_finds_chinese_words_inside_sentences_and_english_prefixes():
    supervisor = factories.staff(Role.SUPERVISOR)
    refund = factories.ticket(subject="退款问题", description="我的订单申请退款三天了还没到账")
    login = factories.ticket(subject="Cannot login", description="The password reset email never arrives")
    assert _found(supervisor, "到账") == {refund.pk}
    assert _found(supervisor, "申请退款") == {refund.pk}
    assert _found(supervisor, "passw") == {login.pk}
    assert _found(supervisor, "退款 password") == set()


def test_search_by_number_customer_and_later_replies():
    supervisor = factories.staff(Role.SUPERVISOR)
    customer = factories.customer(name="欧阳娜娜", email="nana@example.com")
    ticket = factories.ticket(customer, subject="Delivery")
    other = factories.ticket(subject="Delivery too")
    services.reply_to_customer(ticket, "快递单号 SF123456789 已发出", actor=supervisor)
    assert _found(supervisor, f"#{ticket.pk}") == {ticket.pk}
    assert _found(supervisor, "欧阳") == {ticket.pk}
    assert _found(supervisor, "nana@example") == {ticket.pk}
    assert _found(supervisor, "sf123456789") == {ticket.pk}
    assert other.pk in _found(supervisor, "delivery")


def test_search_respects_the_access_layer():
    team_a, team_b = factories.department(), factories.department()
    agent_a = factories.staff(Role.AGENT, teams=(team_a,))
    hidden = factories.ticket(subject="机密投诉", team=team_b)
    assert _found(agent_a, "机密") == set()
    assert _found(factories.staff(Role.SUPERVISOR), "机密") == {hidden.pk}


def test_a_short_page_of_a_full_search_window_links_on_to_older_matches(monkeypatch):
    from kefu.tickets import selectors

    monkeypatch.setattr(selectors, "SEARCH_WINDOW", 3)
    mine, other = factories.department(), factories.department()
    agent = factories.staff(Role.AGENT, teams=(mine,))
    old = [factories.ticket(subject="打印机卡纸", team=mine) for _ in range(2)]
    for _ in range(4):
        factories.ticket(subject="打印机卡纸", team=other)  # newer matches the agent may not see
    first = list_tickets(agent, TicketFilters(q="卡纸"), page_size=25)
    assert first.tickets == []
    assert first.next_cursor is not None
    second = list_tickets(agent, TicketFilters(q="卡纸"), cursor=first.next_cursor, page_size=25)
    assert [t.pk for t in second.tickets] == sorted((t.pk for t in old), reverse=True)
    # That window was full too, so one more look is offered; it finds nothing and ends the list.
    third = list_tickets(agent, TicketFilters(q="卡纸"), cursor=second.next_cursor, page_size=25)
    assert (third.tickets, third.next_cursor) == ([], None)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 index")
def test_the_index_merges_in_the_background_and_still_finds_every_ticket():
    with connection.cursor() as cursor:
        cursor.execute("SELECT k, v FROM tickets_ticket_fts_config WHERE k IN ('automerge', 'crisismerge')")
        assert dict(cursor.fetchall()) == {"automerge": 0, "crisismerge": 64}  # intake never merges
    supervisor = factories.staff(Role.SUPERVISOR)
    tickets = [factories.ticket(subject=f"退款 refund {n}", description=f"订单 order{n}") for n in range(12)]
    merge_search_segments()
    assert _found(supervisor, "退款") == {t.pk for t in tickets}
    assert _found(supervisor, "order7") == {tickets[7].pk}
