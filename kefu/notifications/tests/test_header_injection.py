"""Text that people type never adds a header to the mail kefu sends.

Ticket subjects, customer names, agent display names and thread ids reach outbound headers through the
notification templates (an admin may put {{ subject }} or {{ customer_name }} in a subject line). Each
carries CR/LF and a Bcc line here; the mail goes through the real outbox delivery to a real SMTP server
on loopback, and what the server received is parsed with the email package.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kefu.accounts.models import Role
from kefu.core.clock import now
from kefu.customers.models import Customer
from kefu.customers.services import create_customer
from kefu.feedback.services import survey_ticket
from kefu.notifications.models import Notification, NotificationTemplate, OutboxRow
from kefu.notifications.services import StaffAlertRequest, alert_staff_many, deliver_due, queue_notification
from kefu.testing import factories
from kefu.testing.proof import figure
from kefu.testing.smtp import Collector, Received, smtp_server
from kefu.tickets import services as tickets
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.com"
INJECTED = f"Hello\r\nBcc: {VICTIM}\r\nX-Injected: yes\nTo: {VICTIM}\r\n\r\nforged body"
ON_ONE_LINE = f"Hello Bcc: {VICTIM} X-Injected: yes To: {VICTIM} forged body"


@pytest.fixture
def smtp(settings: object) -> Iterator[Collector]:
    with smtp_server(settings) as collector:
        yield collector


def _wording(template: str, subject: str) -> None:
    """An admin's subject line for a message, in English; the body stays short."""
    NotificationTemplate.objects.create(template=template, language="en", subject=subject, body="Hi.")


def _assert_one_clean_mail(received: Received, recipient: str) -> str:
    message = received.message
    assert received.envelope_to == [recipient]
    assert message.get_all("Bcc") is None and message.get_all("X-Injected") is None
    assert [str(v) for v in message.get_all("To", [])] == [recipient]
    for name in {key.lower() for key in message}:
        assert len(message.get_all(name, [])) == 1, f"{name} twice"
    # A blank line smuggled into a header would have ended the header block early: ours are all there.
    assert {"from", "to", "subject", "message-id", "date"} <= {key.lower() for key in message}
    subject = str(message["Subject"])
    assert "\r" not in subject and "\n" not in subject
    return subject.strip()  # a long encoded subject starts on the next line: unfolded, a leading space


def test_typed_text_in_subjects_and_thread_headers_adds_no_header(smtp: Collector) -> None:
    _wording("ticket_received", "[#{{ number }}] {{ subject }} – {{ customer_name }}")
    _wording("ticket_update", "{{ summary }}")
    _wording("survey", "{{ customer_name }}, how did we do on “{{ subject }}”?")
    _wording("report", "Report for {{ name }}")
    agent = factories.staff(Role.AGENT, name=f"Agent {INJECTED}")
    agent.language = "en"
    agent.save(update_fields=["language"])
    customer = factories.customer(name=f"Wang {INJECTED}", email="wangfang@example.com", language="en")
    ticket = tickets.open_ticket(customer=customer, subject=INJECTED, description="x", actor=customer.user,
                                 channel="web", language="en")
    tickets.assign_ticket(ticket, agent, actor=agent)
    ticket.refresh_from_db()
    tickets.reply_to_customer(ticket, "We are on it.", actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(status="closed", closed_at=now())
    assert survey_ticket(ticket.pk) is not None
    alert_staff_many([StaffAlertRequest(agent, "new_ticket", ticket.pk, lambda _lang: f"New: {ticket.subject}")])
    queue_notification(recipient=agent.email, template="report", language="en",
                       context={"name": agent.name, "kind": "weekly", "start": "2026-11-30", "end": "2026-12-06"})
    # A thread id is a Message-ID the inbox found in a customer's mail; here it carries a header of its own.
    queue_notification(recipient=customer.email, template="ticket_update", language="en", ticket_id=ticket.pk,
                       context={"summary": "thread", "in_reply_to": f"<a@example.com>\r\nBcc: {VICTIM}"})

    deliver_due()

    pending = list(Notification.objects.exclude(state=OutboxRow.State.DELIVERED).values_list(
        "template", "last_error"))
    assert pending == []
    subjects: dict[str, list[str]] = {}
    for received in smtp.received:
        recipient = received.envelope_to[0]
        subject = _assert_one_clean_mail(received, recipient)
        subjects.setdefault(recipient, []).append(subject)
    assert VICTIM not in subjects
    customer_subjects = subjects[customer.email]
    assert f"[#{ticket.number}] {ON_ONE_LINE} – Wang {ON_ONE_LINE}" in customer_subjects  # ticket_received
    assert f"Agent {ON_ONE_LINE} replied to your request." in customer_subjects  # ticket_update
    assert f"Wang {ON_ONE_LINE}, how did we do on “{ON_ONE_LINE}”?" in customer_subjects  # survey
    assert f"Report for Agent {ON_ONE_LINE}" in subjects[agent.email]
    assert any(ON_ONE_LINE in s for s in subjects[agent.email] if s.startswith(f"[#{ticket.number}]"))  # alert
    thread = next(r.message for r in smtp.received if str(r.message["Subject"]) == "thread")
    assert str(thread["In-Reply-To"]) == f"<a@example.com> Bcc: {VICTIM}"
    figure(f"outbound header injection: {len(smtp.received)}/{len(smtp.received)} mails (acknowledgement, update, "
           "survey, staff alert, report, thread headers) carrying CR/LF + Bcc in subject, customer name, agent "
           "name and In-Reply-To delivered through real SMTP with no added header or recipient, subject on one "
           "line")


def test_an_address_with_a_line_break_fails_at_once_and_reaches_nobody(smtp: Collector) -> None:
    """The services refuse such an address now, but a row stored before they did (or by an import) may hold one.
    A header in an address cannot be made safe by cleaning (that would be another address), so its mail fails
    at once, instead of eight times over hours, and reaches nobody."""
    customer = create_customer(name="Eve", email="eve@example.com", actor=None)
    Customer.objects.filter(pk=customer.pk).update(email=f"eve@example.com\r\nBcc: {VICTIM}")
    customer.refresh_from_db()
    ticket = factories.ticket(customer)

    deliver_due()

    note = Notification.objects.get(ticket_id=ticket.pk, template="ticket_received")
    assert (note.state, note.attempts) == (OutboxRow.State.FAILED, 1)
    assert "not one email address" in note.last_error
    assert smtp.received == []
