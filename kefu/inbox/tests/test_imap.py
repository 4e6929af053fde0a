"""Polling a real IMAP server (Dovecot on loopback): stored before flagged or deleted, crash-safe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kefu.inbox import services
from kefu.inbox.models import InboundEmail, Mailbox
from kefu.inbox.tests.dovecot import ImapServer, dovecot
from kefu.inbox.tests.test_intake import email_bytes
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    with dovecot() as server:
        yield server


def _mailbox(server: ImapServer, after_fetch: str = Mailbox.AfterFetch.DELETE) -> Mailbox:
    return Mailbox.objects.create(name="Support", imap_host=server.host, imap_port=server.port,
                                  imap_security=Mailbox.Security.NONE, imap_username=server.user,
                                  imap_password=server.password, after_fetch=after_fetch)


def _messages(n: int) -> list[bytes]:
    return [email_bytes(sender=f"c{i}@example.com", subject=f"Question {i}", message_id=f"<imap-{i}@example.com>")
            for i in range(n)]


def test_new_mail_becomes_tickets_and_is_deleted_from_the_server_only_after_it_is_stored(
        imap_server: ImapServer, settings: object) -> None:
    settings.KEFU = {**settings.KEFU, "MAIL_VERIFY_DKIM": False}  # type: ignore[attr-defined]
    imap_server.deliver(*_messages(3))
    mailbox = _mailbox(imap_server)

    result = services.poll_mailbox(mailbox)

    assert (result.fetched, result.stored, result.duplicates) == (3, 3, 0)
    assert imap_server.count() == 0
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 0", "Question 1", "Question 2"]
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at is not None and mailbox.last_error == ""


def test_mark_as_read_mode_leaves_the_mail_and_fetches_it_once(imap_server: ImapServer, settings: object) -> None:
    settings.KEFU = {**settings.KEFU, "MAIL_VERIFY_DKIM": False}  # type: ignore[attr-defined]
    imap_server.deliver(*_messages(2))
    mailbox = _mailbox(imap_server, Mailbox.AfterFetch.SEEN)
    services.poll_mailbox(mailbox)
    again = services.poll_mailbox(mailbox)
    assert again.fetched == 0 and imap_server.count() == 2 and imap_server.count("SEEN") == 2
    assert Ticket.objects.count() == 2


class Killed(BaseException):
    """Stands for the worker process dying: nothing after this point runs, not even `except Exception`."""


@pytest.mark.parametrize("stage", ["fetched", "stored", "flagged", "expunged"])
def test_a_worker_killed_at_any_point_of_a_fetch_leaves_every_message_with_exactly_one_effect(
        imap_server: ImapServer, settings: object, stage: str) -> None:
    settings.KEFU = {**settings.KEFU, "MAIL_VERIFY_DKIM": False}  # type: ignore[attr-defined]
    imap_server.deliver(*_messages(3))
    mailbox = _mailbox(imap_server)
    seen = {"n": 0}

    def die_at(point: str) -> None:
        if point == stage:
            seen["n"] += 1
            if seen["n"] == 2 or stage == "expunged":  # the second message (or the end of the batch)
                raise Killed(point)

    with pytest.raises(Killed):
        services.poll_mailbox(mailbox, checkpoint=die_at)
    services.poll_mailbox(mailbox)  # the worker restarts
    services.process_due()

    assert InboundEmail.objects.count() == 3
    assert Ticket.objects.count() == 3
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 0", "Question 1", "Question 2"]
    assert imap_server.count() == 0


def test_an_unreachable_server_is_recorded_on_the_mailbox(settings: object) -> None:
    mailbox = Mailbox.objects.create(name="Down", imap_host="127.0.0.1", imap_port=1,
                                     imap_security=Mailbox.Security.NONE, imap_username="x", imap_password="y")
    assert services.poll_active_mailboxes() == 0
    mailbox.refresh_from_db()
    assert mailbox.last_error.startswith("ConnectionRefusedError")
