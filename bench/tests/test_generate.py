"""The benchmark data generator: a small data set in the test database."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bench import text
from bench.generate import AGENT_USERNAME, fast_document, generate
from kefu.core import textsearch

TICKETS = 200
MESSAGES = 4


def test_fast_document_is_textsearch_document() -> None:
    rng = random.Random(3)
    pool = text.PhrasePool(rng, size=200)
    for _ in range(50):
        parts = ["12345", pool.subject(rng), text.person_name(rng), "a@b.example", "13800000000",
                 *(pool.body(rng, agent=j % 2 == 1) for j in range(MESSAGES))]
        assert fast_document(*parts) == textsearch.document(*parts)
    odd = ["Müller  ＡＢＣ１２３ 退款申请", "发票\u3000抬头", "x" * 7000]
    assert fast_document(*odd) == textsearch.document(*odd)


def test_bodies_are_200_to_800_chars_and_seeded() -> None:
    a = text.PhrasePool(random.Random(7), size=100)
    b = text.PhrasePool(random.Random(7), size=100)
    ra, rb = random.Random(1), random.Random(1)
    bodies = [a.body(ra, agent=i % 2 == 1) for i in range(100)]
    assert bodies == [b.body(rb, agent=i % 2 == 1) for i in range(100)]
    assert all(200 <= len(body) <= 800 for body in bodies)


@pytest.fixture
def loaded(db: None) -> dict:
    return generate(tickets=TICKETS, messages=MESSAGES, customers=40, seed=5, chunk=70)


def test_counts(loaded: dict) -> None:
    from kefu.accounts.models import Department, Role, User
    from kefu.customers.models import Customer
    from kefu.tickets.models import Message, Ticket, TicketEvent, TicketSearchDocument

    assert Ticket.objects.count() == TICKETS
    assert Message.objects.count() == TICKETS * MESSAGES
    assert TicketSearchDocument.objects.count() == TICKETS
    assert Customer.objects.count() == 40
    assert TicketEvent.objects.filter(type="created").count() == TICKETS
    assert Department.objects.filter(kind=Department.Kind.SUPPORT).count() == 10
    assert User.objects.filter(role=Role.AGENT).count() == 20
    agent = User.objects.get(username=AGENT_USERNAME)
    assert agent.check_password("bench-pass-123")
    assert agent.departments.count() == 10
    assert loaded["rows"]["tickets"] == TICKETS


def test_a_ticket_opened_after_the_load_gets_the_next_number(loaded: dict) -> None:
    from kefu.testing import factories
    from kefu.tickets.models import Ticket

    assert list(Ticket.objects.order_by("pk").values_list("pk", flat=True)) == list(range(1, TICKETS + 1))
    assert factories.ticket().pk == TICKETS + 1


def test_status_mix(loaded: dict) -> None:
    from kefu.tickets.models import Ticket

    statuses = Counter(Ticket.objects.values_list("status", flat=True))
    assert set(statuses) <= {"new", "open", "resolved", "closed"}
    assert statuses["closed"] / TICKETS == pytest.approx(0.30, abs=0.1)
    assert statuses["resolved"] / TICKETS == pytest.approx(0.25, abs=0.1)
    assert (statuses["open"] + statuses["new"]) / TICKETS == pytest.approx(0.45, abs=0.1)
    assert Ticket.objects.filter(reopened_count=1, status="open").exists()
    assert not Ticket.objects.filter(status="new", owner__isnull=False).exists()
    owned = Ticket.objects.filter(owner__isnull=False).count() / TICKETS
    assert owned == pytest.approx(0.70, abs=0.1)


def test_messages_alternate_customer_and_agent(loaded: dict) -> None:
    from kefu.tickets.models import Message, Ticket

    for ticket in Ticket.objects.order_by("?")[:10]:
        kinds = list(Message.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("kind", flat=True))
        assert kinds == ["customer", "reply", "customer", "reply"]
        first = Message.objects.filter(ticket=ticket).order_by("created_at", "id").first()
        assert first is not None and first.body_text == ticket.description


@pytest.mark.parametrize("word", ["退款", "发票", "refund", "invoice"])
def test_search_finds_generated_words(loaded: dict, word: str) -> None:
    from kefu.accounts.models import User
    from kefu.tickets.selectors import TicketFilters, list_tickets

    agent = User.objects.get(username=AGENT_USERNAME)
    page = list_tickets(agent, TicketFilters(q=word))
    assert page.tickets
    assert all(word in (t.subject + t.description).lower() or t.message_count for t in page.tickets)
