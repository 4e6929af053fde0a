"""Email becomes tickets and replies: stored first, threaded safely, never lost, never doubled."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from kefu.customers.models import Channel, Customer
from kefu.inbox import services
from kefu.inbox.models import InboundEmail, Mailbox
from kefu.inbox.services import Outcome
from kefu.inbox.tests.corpus import build_corpus, write_eml_dir, write_mbox
from kefu.notifications.mailthread import ticket_reply_address, ticket_thread_id
from kefu.notifications.models import Notification
from kefu.notifications.services import deliver_due
from kefu.testing import factories
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Message, Status, Ticket

pytestmark = pytest.mark.django_db


def email_bytes(*, sender: str = "Wang Fang <wangfang@example.com>", subject: str = "订单 1001 没有发货",
                body: str = "我上周下的订单还没有发货，请帮忙查一下。", message_id: str | None = None,
                headers: dict[str, str] | None = None, to: str = "support@kefu.localhost") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def take(raw: bytes, **kwargs: object) -> tuple[InboundEmail, str]:
    received = services.receive_email(raw, source=InboundEmail.Source.HTTP, **kwargs)  # type: ignore[arg-type]
    outcome = services.process_email(received.inbound.pk, verify_dkim=services.no_dkim)
    received.inbound.refresh_from_db()
    return received.inbound, outcome


def ticket_of(inbound: InboundEmail) -> Ticket:
    assert inbound.ticket_id is not None, inbound.reason
    return Ticket.objects.get(pk=inbound.ticket_id)


def message_of(inbound: InboundEmail) -> Message:
    assert inbound.ticket_message_id is not None
    return Message.objects.get(pk=inbound.ticket_message_id)


def acknowledgement_of(ticket: Ticket) -> mail.EmailMessage:
    deliver_due()
    root = ticket_thread_id(ticket.pk)
    sent = [m for m in mail.outbox if m.extra_headers.get("References", "").startswith(root)]
    assert sent, "the customer got an acknowledgement"
    return sent[-1]


def test_a_new_email_opens_a_ticket_for_its_sender_and_the_acknowledgement_threads_with_it() -> None:
    team = factories.department("Email team")
    factories.staff(teams=(team,))
    mailbox = Mailbox.objects.create(name="Support", address="support@kefu.localhost", team=team)
    raw = email_bytes(message_id="<first@example.com>")

    inbound, outcome = take(raw, mailbox=mailbox)

    assert outcome == Outcome.NEW_TICKET and inbound.state == InboundEmail.State.PROCESSED
    ticket = ticket_of(inbound)
    assert ticket.channel == Channel.EMAIL and ticket.team == team and ticket.subject == "订单 1001 没有发货"
    assert ticket.customer.email == "wangfang@example.com" and ticket.customer.name == "Wang Fang"
    assert message_of(inbound).body_text.startswith("我上周下的订单")
    assert bytes(inbound.raw) == raw, "the original is kept byte for byte"
    ack = acknowledgement_of(ticket)
    assert ack.to == ["wangfang@example.com"]
    assert ack.extra_headers["In-Reply-To"] == "<first@example.com>"
    assert ack.extra_headers["Reply-To"] == ticket_reply_address(ticket.pk)


def test_the_same_message_twice_is_one_ticket() -> None:
    raw = email_bytes(message_id="<twice@example.com>")
    take(raw)
    again = services.receive_email(raw, source=InboundEmail.Source.IMAP)
    assert again.duplicate
    no_id = email_bytes().replace(b"Message-ID:", b"X-Old-ID:")
    assert not services.receive_email(no_id, source=InboundEmail.Source.IMPORT).duplicate
    assert services.receive_email(no_id, source=InboundEmail.Source.IMPORT).duplicate, "same bytes, same hash"
    assert Ticket.objects.count() == 1 and InboundEmail.objects.count() == 2


def test_a_reply_to_our_mail_joins_its_ticket_and_shows_without_the_quote() -> None:
    inbound, _ = take(email_bytes(message_id="<start@example.com>"))
    ticket = ticket_of(inbound)
    ack = acknowledgement_of(ticket)
    quoted = "补充：订单号是 1001-A。\n\n在 2026年12月1日，客服 写道：\n> 已收到"
    reply = email_bytes(subject="Re: 订单 1001 没有发货", body=quoted,
                        headers={"In-Reply-To": ack.extra_headers["Message-ID"],
                                 "References": f"<start@example.com> {ack.extra_headers['Message-ID']}"})

    second, outcome = take(reply)

    assert outcome == Outcome.REPLY and second.ticket_id == ticket.pk
    message = message_of(second)
    assert message.body_text == "补充：订单号是 1001-A。" and message.channel == Channel.EMAIL
    assert Ticket.objects.count() == 1


def test_replies_thread_by_reply_address_by_their_own_earlier_message_and_by_number_for_participants() -> None:
    inbound, _ = take(email_bytes(message_id="<root@example.com>"))
    ticket = ticket_of(inbound)

    by_address, o1 = take(email_bytes(subject="more", to=ticket_reply_address(ticket.pk)))
    by_own_id, o2 = take(email_bytes(subject="again", headers={"References": "<root@example.com>"}))
    by_number, o3 = take(email_bytes(subject=f"Re: [#{ticket.pk}] 订单"))
    order_number, o5 = take(email_bytes(subject=f"订单 #{ticket.pk} 的发票"))
    stranger, o4 = take(email_bytes(sender="other@example.net", subject=f"Re: [#{ticket.pk}] 订单"))

    assert [o1, o2, o3] == [Outcome.REPLY] * 3
    assert {by_address.ticket_id, by_own_id.ticket_id, by_number.ticket_id} == {ticket.pk}
    assert o4 == Outcome.NEW_TICKET and stranger.ticket_id != ticket.pk, "a number alone admits nobody"
    assert o5 == Outcome.NEW_TICKET and order_number.ticket_id != ticket.pk, "“#N” without brackets is no ticket"


def test_a_forged_reply_address_or_a_stranger_on_the_thread_never_joins_silently() -> None:
    inbound, _ = take(email_bytes(message_id="<mine@example.com>"))
    ticket = ticket_of(inbound)
    forged = ticket_reply_address(ticket.pk).replace("-", "-0", 1)

    guessed, o1 = take(email_bytes(sender="wangfang@example.com", subject="x", to=forged))
    stranger, o2 = take(email_bytes(sender="intruder@evil.example", subject="Re: hi",
                                    headers={"References": ticket_thread_id(ticket.pk)}))

    assert o1 == Outcome.NEW_TICKET and guessed.ticket_id != ticket.pk
    assert o2 == Outcome.HELD and stranger.reason == "sender_not_participant"
    assert ticket.messages.count() == 1
    agent = factories.staff()
    note = services.release_held(stranger, actor=agent)
    assert note.kind == Message.Kind.NOTE and "intruder@evil.example" in note.body_text


def test_a_reply_that_fails_authentication_is_held_and_changes_nothing() -> None:
    inbound, _ = take(email_bytes(message_id="<auth@example.com>"))
    ticket = ticket_of(inbound)
    customer_before = Customer.objects.values().get(pk=ticket.customer_id)
    spoofed = email_bytes(sender="Someone Else <wangfang@example.com>", subject="Re: 退款改到这个账户",
                          headers={"References": ticket_thread_id(ticket.pk),
                                   "Authentication-Results": "mx.kefu.example; spf=fail; dkim=none; dmarc=fail"})

    held, outcome = take(spoofed)

    assert outcome == Outcome.HELD and held.reason == "authentication_failed"
    assert held.authentication["verdict"] == "fail" and held.authentication["dmarc"] == "fail"
    assert ticket.messages.count() == 1
    assert Customer.objects.values().get(pk=ticket.customer_id) == customer_before
    services.reject_held(held, actor=factories.staff())
    held.refresh_from_db()
    assert held.state == InboundEmail.State.REJECTED


def test_auto_replies_bounces_and_lists_are_recorded_but_never_answered() -> None:
    for headers in ({"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List-Id": "<news.example.com>"}):
        inbound, outcome = take(email_bytes(subject="Out of office", headers=headers))
        assert outcome == Outcome.IGNORED and inbound.ticket_id is None
    bounce, outcome = take(email_bytes(sender="MAILER-DAEMON@mx.example.com", subject="Undelivered"))
    assert outcome == Outcome.IGNORED and bounce.reason == "bounce"
    assert not Ticket.objects.exists() and not Notification.objects.exists()


def test_a_message_nobody_can_read_is_quarantined_and_replayed_after_a_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    garbage = b"\x00\x01 not a mail at all"
    inbound, outcome = take(garbage)
    assert outcome == Outcome.QUARANTINED and "header" in inbound.reason
    good = email_bytes(message_id="<later@example.com>")
    real_parse = services.parse_mail

    def crashing_parse(raw: bytes, **kwargs: object) -> object:
        raise UnicodeError("a parser bug")

    monkeypatch.setattr(services, "parse_mail", crashing_parse)
    stuck, outcome = take(good)
    assert outcome == Outcome.QUARANTINED and "a parser bug" in stuck.reason
    assert not Ticket.objects.exists()

    monkeypatch.setattr(services, "parse_mail", real_parse)  # the fix
    assert services.replay([stuck.pk]) == {Outcome.NEW_TICKET: 1}
    assert services.replay([stuck.pk]) == {}, "replaying twice has one effect"
    assert Ticket.objects.count() == 1


def test_a_failure_while_applying_is_retried_from_the_stored_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_open = ticket_services.open_ticket

    def flaky_open(**kwargs: object) -> Ticket:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("database went away")
        return real_open(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ticket_services, "open_ticket", flaky_open)
    inbound, outcome = take(email_bytes())
    assert outcome == Outcome.RETRY and inbound.state == InboundEmail.State.RECEIVED and inbound.attempts == 1
    assert not Ticket.objects.exists()
    InboundEmail.objects.filter(pk=inbound.pk).update(next_attempt_at=inbound.received_at)
    assert services.process_due() == 1
    inbound.refresh_from_db()
    assert inbound.state == InboundEmail.State.PROCESSED and Ticket.objects.count() == 1


def test_the_sweep_leaves_a_message_to_the_receiver_that_processes_it_at_once() -> None:
    import datetime as dt

    from kefu.core.clock import frozen_at, now

    received_at = now()
    with frozen_at(received_at):
        mine = services.receive_email(email_bytes(), source=InboundEmail.Source.HTTP, processing_now=True).inbound
        stored_only = services.receive_email(email_bytes(), source=InboundEmail.Source.IMAP).inbound
        assert services.process_due() == 1  # the one no receiver is about to process
    assert InboundEmail.objects.get(pk=mine.pk).state == InboundEmail.State.RECEIVED
    assert InboundEmail.objects.get(pk=stored_only.pk).state == InboundEmail.State.PROCESSED

    assert services.process_email(mine) == Outcome.NEW_TICKET  # what the receiver then answers

    crashed = services.receive_email(email_bytes(), source=InboundEmail.Source.HTTP, processing_now=True).inbound
    with frozen_at(now() + services.RECEIVER_LEASE + dt.timedelta(seconds=1)):  # its receiver died meanwhile
        assert services.process_due() == 1
    assert InboundEmail.objects.get(pk=crashed.pk).state == InboundEmail.State.PROCESSED


def test_a_reply_to_a_closed_ticket_opens_a_new_one() -> None:
    inbound, _ = take(email_bytes(message_id="<closed@example.com>"))
    ticket = ticket_of(inbound)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    follow_up, outcome = take(email_bytes(subject="Re: again", headers={"References": ticket_thread_id(ticket.pk)}))
    assert outcome == Outcome.NEW_TICKET and follow_up.ticket_id != ticket.pk


def test_attachments_are_kept_and_a_refused_one_is_named(settings: object) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "li@example.com", "support@kefu.localhost", "发票"
    msg["Message-ID"] = "<att@example.com>"
    msg.set_content("见附件。")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="发票.pdf")
    msg.add_attachment(b"MZ...", maintype="application", subtype="x-msdownload", filename="tool.exe")

    inbound, outcome = take(msg.as_bytes())

    message = message_of(inbound)
    assert [a.filename for a in message.attachments.all()] == ["发票.pdf"]
    refused = "Not attached here (kept in the original message):\n- Files of type"
    assert message.body_text.startswith(f"见附件。\n\n{refused}")
    assert inbound.state == InboundEmail.State.PROCESSED and outcome == Outcome.NEW_TICKET


def test_import_mail_ingests_the_whole_corpus_with_nothing_lost_or_doubled(tmp_path: Path, settings: object,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    corpus = build_corpus()
    people = [s for s in corpus if not s.automatic]
    write_mbox(tmp_path / "all.mbox", corpus)
    write_eml_dir(tmp_path / "eml", corpus)

    call_command("inbox", "import-mail", "--no-dkim", str(tmp_path / "all.mbox"))
    first = json.loads(capsys.readouterr().out.strip())
    assert first["received"] == len(corpus) and first["lost"] == 0 and first["quarantined"] == 0
    assert first["ignored"] == len(corpus) - len(people)
    assert first["new_tickets"] + first["replies_threaded"] + first["held"] == len(people)
    tickets = Ticket.objects.count()

    for _ in range(3):  # the same mail again, as files and as the mbox: every one a duplicate
        call_command("inbox", "import-mail", "--no-dkim", str(tmp_path / "eml"), str(tmp_path / "all.mbox"))
        again = json.loads(capsys.readouterr().out.strip())
        assert again["duplicates_skipped"] == 2 * len(corpus) and again["new_tickets"] == 0
    assert Ticket.objects.count() == tickets
    assert InboundEmail.objects.count() == len(corpus)


def test_import_mail_exits_non_zero_only_when_a_message_is_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_bytes(email_bytes(subject="kept"))
    (tmp_path / "b.eml").write_bytes(email_bytes(subject="LOSE-ME"))
    real_receive = services.receive_email

    def failing_store(raw: bytes, **kwargs: object) -> services.Received:
        if b"LOSE-ME" in raw:
            raise OSError("disk full")
        return real_receive(raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "receive_email", failing_store)
    with pytest.raises(SystemExit) as exit_:
        call_command("inbox", "import-mail", "--no-dkim", str(tmp_path))
    summary = json.loads(capsys.readouterr().out.strip())
    assert exit_.value.code == 1
    assert summary["lost"] == 1 and summary["new_tickets"] == 1 and "disk full" in summary["errors"][0]

    monkeypatch.setattr(services, "receive_email", real_receive)
    call_command("inbox", "import-mail", "--no-dkim", str(tmp_path))  # exits 0: nothing lost this time
    assert json.loads(capsys.readouterr().out.strip())["new_tickets"] == 1


def test_the_console_shows_each_emails_authentication_and_the_trimmed_text(client: object) -> None:
    agent = factories.staff()
    signed = email_bytes(message_id="<ok@example.com>", body="第一封。",
                         headers={"Authentication-Results": "mx.kefu.example; spf=pass; dkim=pass; dmarc=pass"})
    first, _ = take(signed)
    ticket = ticket_of(first)
    take(email_bytes(subject="Re", body="第二封。\n\nOn Tue, 1 Dec 2026 at 10:00, Wang wrote:\n> 第一封。",
                     headers={"References": ticket_thread_id(ticket.pk)}))
    client.force_login(agent)  # type: ignore[attr-defined]

    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()  # type: ignore[attr-defined]

    assert page.count("Sender verified") == 1 and page.count("Sender not verified") == 1
    assert "第二封。" in page and "Wang wrote" not in page


def test_an_agent_reviews_held_email_on_the_ticket_page(client: object) -> None:
    agent = factories.staff()
    first, _ = take(email_bytes(message_id="<review@example.com>"))
    ticket = ticket_of(first)
    Ticket.objects.filter(pk=ticket.pk).update(owner=agent)
    held, _ = take(email_bytes(sender="colleague@partner.example", subject="Re: 订单", body="我是物流公司，货已到。",
                               headers={"References": ticket_thread_id(ticket.pk)}))
    spoof, _ = take(email_bytes(subject="Re: 改地址", headers={
        "References": ticket_thread_id(ticket.pk),
        "Authentication-Results": "mx.kefu.example; spf=fail; dmarc=fail"}))
    client.force_login(agent)  # type: ignore[attr-defined]
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()  # type: ignore[attr-defined]
    assert "Email held for review" in page and "colleague@partner.example" in page
    assert "Not the ticket's customer" in page and "Sender authentication failed" in page

    url = f"/console/tickets/{ticket.pk}/held-email/"
    client.post(f"{url}{held.pk}/", {"decision": "release"})  # type: ignore[attr-defined]
    client.post(f"{url}{spoof.pk}/", {"decision": "reject"})  # type: ignore[attr-defined]

    held.refresh_from_db()
    spoof.refresh_from_db()
    assert held.state == InboundEmail.State.PROCESSED and spoof.state == InboundEmail.State.REJECTED
    note = ticket.messages.order_by("-pk").first()
    assert note is not None and note.kind == Message.Kind.NOTE and "我是物流公司" in note.body_text
    after = client.get(f"/console/tickets/{ticket.pk}/").content.decode()  # type: ignore[attr-defined]
    assert "Email held for review" not in after


def test_the_original_email_behind_a_message_is_downloadable_whole(client: object) -> None:
    team, other_team = factories.department("Mail A"), factories.department("Mail B")
    agent = factories.staff(teams=(team,))
    raw = email_bytes(message_id="<orig@example.com>", body="新问题。\n\nOn Tue, 1 Dec 2026, Wang wrote:\n> 旧内容")
    inbound, _ = take(raw, mailbox=Mailbox.objects.create(name="A", team=team))
    ticket = ticket_of(inbound)
    client.force_login(agent)  # type: ignore[attr-defined]

    url = f"/console/tickets/{ticket.pk}/messages/{inbound.ticket_message_id}/original/"
    response = client.get(url)  # type: ignore[attr-defined]
    assert response.status_code == 200 and response["Content-Type"] == "message/rfc822"
    assert b"".join(response.streaming_content) == raw, "byte for byte, quote included"
    assert "Original message" in client.get(f"/console/tickets/{ticket.pk}/").content.decode()  # type: ignore[attr-defined]

    Ticket.objects.filter(pk=ticket.pk).update(team=other_team, owner=None)  # now out of this agent's reach
    assert client.get(url).status_code == 404  # type: ignore[attr-defined]
