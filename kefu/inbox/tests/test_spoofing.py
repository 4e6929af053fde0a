"""A reply from anyone but the ticket's customer never joins the ticket, however well it imitates one.

Every message here is raw RFC 822 text, as a mail server hands it over. The stranger knows everything a
forwarded or leaked mail shows: our Message-ID (In-Reply-To, References), the per-ticket reply address
and the ticket number; they imitate the customer's name, put the customer's address where a lenient
parser reads it, or name the customer in Sender and Reply-To. test_intake covers the basic cases
(a number alone, a stranger on the thread, failed authentication); this is the whole matrix, counted.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from django.core import mail

from kefu.inbox import services
from kefu.inbox.models import InboundEmail
from kefu.inbox.services import Outcome
from kefu.notifications.mailthread import ticket_thread_id
from kefu.notifications.models import Notification
from kefu.notifications.services import deliver_due
from kefu.testing.proof import figure
from kefu.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

CUSTOMER = "wangfang@example.com"


def raw_mail(*, sender: str, subject: str, message_id: str, to: str = "support@kefu.localhost",
             extra: str = "", body: str = "请把退款打到新的账户：6222 0000 1111 2222。") -> bytes:
    """A message as it arrives: CRLF lines, the headers as written (nothing re-encoded), a UTF-8 body."""
    head = (f"Return-Path: <bounce@mx.sender.example>\r\nFrom: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Fri, 04 Dec 2026 10:00:00 +0800\r\nMessage-ID: {message_id}\r\n{extra}"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n")
    return (head + "\r\n").encode() + base64.encodebytes(body.encode()).replace(b"\n", b"\r\n")


def take(raw: bytes) -> tuple[InboundEmail, str]:
    received = services.receive_email(raw, source=InboundEmail.Source.IMAP)
    outcome = services.process_email(received.inbound.pk, verify_dkim=services.no_dkim)
    received.inbound.refresh_from_db()
    return received.inbound, outcome


@dataclass(frozen=True)
class Thread:
    ticket: Ticket
    ours: str  # the Message-ID of our acknowledgement, which the customer's reply answers
    root: str
    reply_to: str

    def headers(self) -> str:
        return f"In-Reply-To: {self.ours}\r\nReferences: <first-0001@example.com> {self.root} {self.ours}\r\n"

    def subject(self) -> str:
        return f"Re: [#{self.ticket.number}] We have received your request"


def open_thread() -> Thread:
    """The customer writes in; kefu answers; the answer's headers are what a reply would quote."""
    inbound, outcome = take(raw_mail(sender=f"Wang Fang <{CUSTOMER}>", subject="退款没有到账",
                                     message_id="<first-0001@example.com>", body="退款申请三天了还没到账。"))
    assert outcome == Outcome.NEW_TICKET and inbound.ticket_id is not None
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    deliver_due()
    ours = next(m for m in mail.outbox if m.to == [CUSTOMER])
    return Thread(ticket=ticket, ours=ours.extra_headers["Message-ID"], root=ticket_thread_id(ticket.pk),
                  reply_to=ours.extra_headers["Reply-To"])


def _encoded(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


# (case, From header, extra headers, To, outcome): the stranger's mail is held for an agent when its
# headers or the reply address name the ticket, and opens a ticket of its own when only the subject does.
STRANGERS = (
    ("stranger answering our mail", "Li Si <lisi@evil.example>", "thread", "", Outcome.HELD),
    ("stranger writing to the ticket's reply address", "lisi@evil.example", "", "reply_to", Outcome.HELD),
    ("stranger with the ticket number only", "lisi@evil.example", "", "", Outcome.NEW_TICKET),
    ("customer's display name, other address", "Wang Fang <lisi@evil.example>", "thread", "", Outcome.HELD),
    ("customer's address as a quoted display name", f'"{CUSTOMER}" <lisi@evil.example>', "thread", "",
     Outcome.HELD),
    ("customer's name and address encoded as the display name",
     f"{_encoded(f'Wang Fang <{CUSTOMER}>')} <lisi@evil.example>", "thread", "", Outcome.HELD),
    ("customer's address as an unquoted display name", f"{CUSTOMER} <lisi@evil.example>", "thread", "",
     Outcome.HELD),
    ("customer's address before a stray parenthesis", f"{CUSTOMER})<lisi@evil.example>", "thread", "",
     Outcome.HELD),
    ("customer's address then a second angle address", f"Wang Fang <{CUSTOMER}> <lisi@evil.example>",
     "thread", "", Outcome.HELD),
    ("two mailboxes in From, the customer's first", f"{CUSTOMER}, lisi@evil.example", "thread", "",
     Outcome.HELD),
    ("customer in Sender and Reply-To only", "Li Si <lisi@evil.example>",
     f"thread+Sender: {CUSTOMER}\r\nReply-To: Wang Fang <{CUSTOMER}>\r\n", "", Outcome.HELD),
    ("no From, the customer in Sender", "", f"thread+Sender: Wang Fang <{CUSTOMER}>\r\n", "", Outcome.HELD),
    ("look-alike domain", f"Wang Fang <{CUSTOMER}.evil.example>", "thread", "", Outcome.HELD),
    ("customer's address as a comment", f"lisi@evil.example ({CUSTOMER})", "thread", "", Outcome.HELD),
    ("the customer's From header, then a second one", f"Wang Fang <{CUSTOMER}>",
     "thread+From: lisi@evil.example\r\n", "", Outcome.HELD),
    ("the customer's address, failing DMARC", f"Wang Fang <{CUSTOMER}>",
     "thread+Authentication-Results: mx.kefu.example; spf=fail smtp.mailfrom=evil.example; dkim=none; "
     "dmarc=fail header.from=example.com\r\n", "", Outcome.HELD),
)

CUSTOMER_REPLIES = (
    ("the customer answering our mail", f"Wang Fang <{CUSTOMER}>", "thread", ""),
    ("the customer in other letter case", "Wang Fang <WangFang@Example.COM>", "thread", ""),
    ("the customer with an encoded Chinese name", f"{_encoded('王芳')} <{CUSTOMER}>", "thread", ""),
    ("the customer with a comment for a name", f"{CUSTOMER} (Wang Fang)", "thread", ""),
    ("the customer writing to the reply address", CUSTOMER, "", "reply_to"),
    ("the customer with the ticket number only", f"<{CUSTOMER}>", "", ""),
)


def _mail_for(thread: Thread, n: int, sender: str, extra: str, to: str) -> bytes:
    headers = ""
    if extra.startswith("thread"):
        headers = thread.headers() + extra.removeprefix("thread").removeprefix("+")
    raw = raw_mail(sender=sender, subject=thread.subject(), message_id=f"<case-{n:03d}@sender.example>",
                   to=thread.reply_to if to == "reply_to" else "support@kefu.localhost", extra=headers)
    if not sender:  # no From header at all
        raw = raw.replace(b"From: \r\n", b"")
    return raw


def test_no_imitation_of_the_customer_joins_their_ticket_and_the_customer_always_does() -> None:
    thread = open_thread()
    ticket = thread.ticket
    before = Message.objects.filter(ticket=ticket).count()
    for n, (case, sender, extra, to, expected) in enumerate(STRANGERS):
        inbound, outcome = take(_mail_for(thread, n, sender, extra, to))
        assert outcome == expected, case
        if expected == Outcome.HELD:
            assert inbound.ticket_id == ticket.pk and inbound.ticket_message_id is None, case
        else:
            assert inbound.ticket_id != ticket.pk, case
        assert Message.objects.filter(ticket=ticket).count() == before, case
    ticket.refresh_from_db()
    assert ticket.message_count == before
    # Nothing about the customer's ticket went to the strangers.
    deliver_due()
    leaked = [m for m in mail.outbox if "lisi@evil.example" in m.to and f"[#{ticket.number}]" in m.subject]
    assert leaked == []
    assert not Notification.objects.filter(ticket_id=ticket.pk).exclude(recipient=CUSTOMER).exclude(
        template="staff_alert").exists()

    for n, (case, sender, extra, to) in enumerate(CUSTOMER_REPLIES, start=100):
        inbound, outcome = take(_mail_for(thread, n, sender, extra, to))
        assert (outcome, inbound.ticket_id) == (Outcome.REPLY, ticket.pk), case
        assert inbound.ticket_message_id is not None
        message = Message.objects.get(pk=inbound.ticket_message_id)
        assert message.kind == Message.Kind.CUSTOMER and message.author == ticket.customer.user, case
    held = InboundEmail.objects.filter(ticket_id=ticket.pk, state=InboundEmail.State.HELD).count()
    figure(f"mail spoofing: {len(STRANGERS)}/{len(STRANGERS)} imitations of the customer kept off the ticket "
           f"({held} held for review, {len(STRANGERS) - held} opened their own ticket); "
           f"{len(CUSTOMER_REPLIES)}/{len(CUSTOMER_REPLIES)} real customer replies joined (real RFC 822 bytes)")


def test_an_agent_releasing_an_ambiguous_sender_gets_a_note_not_a_customer_message() -> None:
    """Held mail from a From header that reads as the customer only to a lenient parser stays an internal
    note naming the sender when an agent lets it in."""
    from kefu.inbox.services import release_held
    from kefu.testing import factories

    thread = open_thread()
    inbound, outcome = take(_mail_for(thread, 1, f"{CUSTOMER} <lisi@evil.example>", "thread", ""))
    assert outcome == Outcome.HELD and inbound.reason == "sender_not_participant"
    note = release_held(inbound, actor=factories.staff())
    assert note.kind == Message.Kind.NOTE
