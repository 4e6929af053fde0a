"""POST /api/v1/inbox/email: a mail server hands over raw messages."""

from __future__ import annotations

from kefu.accounts.models import Role
from kefu.inbox.models import InboundEmail
from kefu.inbox.tests.test_intake import email_bytes
from kefu.testing import factories
from kefu.tickets.models import Ticket


def test_an_admin_token_hands_over_a_raw_message_once(db, token_client, settings) -> None:
    settings.KEFU = {**settings.KEFU, "MAIL_VERIFY_DKIM": False}
    client = token_client(factories.staff(Role.ADMIN))
    raw = email_bytes(message_id="<via-http@example.com>")

    first = client.post("/api/v1/inbox/email", raw, content_type="message/rfc822")
    again = client.post("/api/v1/inbox/email", raw, content_type="message/rfc822")

    assert first.status_code == 202, first.content
    body = first.json()
    assert body["duplicate"] is False and body["outcome"] == "new_ticket" and body["state"] == "processed"
    assert Ticket.objects.get(pk=body["ticket"]).channel == "email"
    assert again.status_code == 202 and again.json()["duplicate"] is True and again.json()["ticket"] == body["ticket"]
    assert InboundEmail.objects.count() == 1


def test_agents_cannot_hand_over_mail_and_an_empty_body_is_refused(db, token_client) -> None:
    agent_client = token_client(factories.staff(Role.AGENT))
    refused = agent_client.post("/api/v1/inbox/email", email_bytes(), content_type="message/rfc822")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    admin_client = token_client(factories.staff(Role.ADMIN))
    empty = admin_client.post("/api/v1/inbox/email", b"  ", content_type="message/rfc822")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_message"
    unknown = admin_client.post("/api/v1/inbox/email?mailbox=999", email_bytes(), content_type="message/rfc822")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_mailbox"
    assert not InboundEmail.objects.exists()
