"""Mail out through a real SMTP server (aiosmtpd on loopback) and the customer's answer back in."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from kefu.inbox.models import InboundEmail
from kefu.inbox.services import Outcome
from kefu.inbox.tests.test_intake import email_bytes, take, ticket_of
from kefu.notifications.services import deliver_due
from kefu.testing import factories
from kefu.testing.smtp import Collector, smtp_server
from kefu.tickets import services as ticket_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings: object) -> Iterator[Collector]:
    with smtp_server(settings) as collector:
        yield collector


def _answer(ours: EmailMessage, body: str) -> bytes:
    """What the customer's mail client sends when they press Reply."""
    reply = EmailMessage()
    reply["From"] = str(ours["To"])
    reply["To"] = str(ours["Reply-To"] or ours["From"])
    reply["Subject"] = f"Re: {ours['Subject']}"
    reply["Message-ID"] = f"<answer-{len(body)}@example.com>"
    reply["In-Reply-To"] = str(ours["Message-ID"])
    reply["References"] = f"{ours['References']} {ours['Message-ID']}"
    reply.set_content(f"{body}\n\nOn Thu, 3 Dec 2026, kefu wrote:\n> {ours.get_content().splitlines()[0]}")
    return reply.as_bytes()


def test_our_mail_threads_in_the_customers_client_and_their_answer_threads_back(smtp: Collector) -> None:
    agent = factories.staff()
    inbound, _ = take(email_bytes(message_id="<question@example.com>", subject="发票抬头写错了"))
    ticket = ticket_of(inbound)

    deliver_due()
    ack = smtp.messages[-1]
    assert ack["In-Reply-To"] == "<question@example.com>", "the acknowledgement answers their mail"
    assert str(ticket.pk) in str(ack["Subject"])
    assert str(ack["Reply-To"]).startswith(f"support+{ticket.pk}-")

    answer, outcome = take(_answer(ack, "抬头应为：上海某某公司"))
    assert outcome == Outcome.REPLY and answer.ticket_id == ticket.pk
    assert ticket.messages.order_by("-pk").first().body_text == "抬头应为：上海某某公司"  # type: ignore[union-attr]

    assert ticket.owner == agent, "the only agent owns it"
    ticket_services.reply_to_customer(ticket, "已为您重新开具。", actor=agent)
    deliver_due()
    update = smtp.messages[-1]
    assert update["Message-ID"] != ack["Message-ID"]
    assert str(update["References"]).split()[0] == str(ack["References"]).split()[0], "one thread root"
    second, outcome = take(_answer(update, "收到，谢谢！"))
    assert outcome == Outcome.REPLY and second.ticket_id == ticket.pk
    assert InboundEmail.objects.filter(ticket_id=ticket.pk).count() == 3
