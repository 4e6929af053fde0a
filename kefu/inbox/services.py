"""Email in: store the raw message first, then turn it into a ticket or a reply on one.

Never lose, never duplicate: `receive_email` commits the raw bytes (or recognises a message already
stored, by Message-ID or content hash) before anyone may remove it from the mail server. `process_email`
works from that copy; a message nobody can read is quarantined with the reason and can be replayed, a
failure while applying it is retried with back-off, and one bad message never stops the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import imaplib
import itertools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.core.audit import record_audit
from kefu.core.bulk import insert_one, update_one
from kefu.core.clock import now
from kefu.core.errors import DomainError
from kefu.customers.models import Channel, Customer, CustomerIdentity
from kefu.customers.services import (
    create_customer,
    find_customer_by_identity,
    find_or_create_caller,
    find_or_create_customer,
)
from kefu.inbox import connectors, imap
from kefu.inbox.mail import (
    DkimVerifier,
    NotAnEmail,
    ParsedMail,
    dedupe_key,
    dkim_verifier,
    parse_mail,
    read_message_id,
    split_quoted,
)
from kefu.inbox.models import ChannelEndpoint, InboundEmail, InboundEvent, Mailbox
from kefu.notifications.mailthread import (
    notification_from_message_id,
    ticket_from_reply_address,
    ticket_from_thread_id,
)
from kefu.notifications.models import Notification
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Message, Ticket

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
RECEIVER_LEASE = dt.timedelta(minutes=2)  # how long a receiver that processes at once has its message to itself
BATCH = 200
# Our subjects say "[#N]"; a bare "#1001" is as likely an order number, so it threads nothing.
SUBJECT_NUMBER = re.compile(r"\[#(\d{1,18})\]")


class Outcome:
    NEW_TICKET = "new_ticket"
    REPLY = "reply"
    HELD = "held"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"
    RETRY = "retry"
    ALREADY_DONE = "already_done"


@dataclass(frozen=True)
class Received:
    inbound: InboundEmail
    duplicate: bool


def receive_email(raw: bytes, *, source: str, mailbox: Mailbox | None = None, actor: User | None = None,
                  processing_now: bool = False) -> Received:
    """Store one raw message and commit it; a message stored before comes back marked as a duplicate. A message
    handed over by a person (an administrator's API token) is audited under their name.

    `processing_now`: the caller processes the message itself right after this returns (and answers with the
    outcome), so the background sweep leaves it alone for RECEIVER_LEASE, taking it only if the caller died
    first; otherwise the sweep could take it in between and the caller would answer "already done".

    Must not run inside another transaction (durable): the caller removes the message from its server
    only after this returns, so the row has to be committed by then.
    """
    key = dedupe_key(raw, read_message_id(raw))
    # Asked first, so that a duplicate (a re-fetch after a crash, a re-import) never waits for a write turn.
    if _stored_id(key) is not None:
        return Received(InboundEmail.objects.defer("raw").get(dedupe_key=key), duplicate=True)
    inbound = InboundEmail(dedupe_key=key, message_id=key[4:] if key.startswith("mid:") else "", source=source,
                           mailbox=mailbox, raw=raw, size=len(raw))
    if processing_now:
        inbound.next_attempt_at = inbound.received_at + RECEIVER_LEASE
    try:
        with transaction.atomic(durable=True):
            insert_one(inbound)  # a plain insert (kefu.core.bulk): every message of every channel pays for it
            if actor is not None:
                record_audit("inbound_email.handed_over", inbound, actor=actor, changes={"size": inbound.size})
    except IntegrityError:  # the same message, stored a moment ago by another worker
        return Received(InboundEmail.objects.defer("raw").get(dedupe_key=key), duplicate=True)
    return Received(inbound, duplicate=False)


def _stored_id(key: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {InboundEmail._meta.db_table} WHERE dedupe_key = %s", [key])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None


def _state_for_update(inbound_id: int) -> str:
    """The row's state under its lock (FOR UPDATE on PostgreSQL; SQLite's writer holds the database)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT state FROM {InboundEmail._meta.db_table} WHERE id = %s{lock}",  # noqa: S608
                       [inbound_id])
        return str(cursor.fetchone()[0])


def no_dkim(raw: bytes) -> tuple[str, str]:
    """A verifier that checks nothing (imports of old mail, or DKIM checks turned off)."""
    return "absent", ""


def _verifier() -> DkimVerifier:
    return dkim_verifier() if settings.KEFU["MAIL_VERIFY_DKIM"] else no_dkim


def process_email(inbound: int | InboundEmail, *, verify_dkim: DkimVerifier | None = None) -> str:
    """Turn a stored message into its one effect; safe to call again (a processed message is left alone).

    Takes the row's id, or the row itself when the caller has just stored it (its raw bytes then need no
    second read); either way the state is checked again under a lock before anything is applied.
    """
    if not isinstance(inbound, InboundEmail):
        inbound = InboundEmail.objects.select_related("mailbox").get(pk=inbound)
    if inbound.state != InboundEmail.State.RECEIVED:
        return Outcome.ALREADY_DONE
    try:
        parsed = parse_mail(bytes(inbound.raw), trusted_authserv=settings.KEFU["MAIL_TRUSTED_AUTHSERV_IDS"],
                            verify_dkim=verify_dkim or _verifier())
    except NotAnEmail as exc:
        return _settle(inbound, InboundEmail.State.QUARANTINED, reason=str(exc))
    except Exception as exc:  # a parser bug on a strange message: quarantined, replayable after the fix
        log.exception("inbox.parse_failed", extra={"inbound": inbound.pk})
        return _settle(inbound, InboundEmail.State.QUARANTINED, reason=f"{type(exc).__name__}: {exc}")
    try:
        with transaction.atomic():
            # The state alone, under the lock: the row's raw bytes are already in hand.
            if _state_for_update(inbound.pk) != InboundEmail.State.RECEIVED:
                return Outcome.ALREADY_DONE
            return _apply(inbound, parsed)
    except Exception as exc:
        log.exception("inbox.process_failed", extra={"inbound": inbound.pk})
        return _retry_later(inbound, exc)


def _settle(inbound: InboundEmail, state: str, *, reason: str = "", parsed: ParsedMail | None = None,
            ticket: Ticket | None = None, message: Message | None = None) -> str:
    inbound.state, inbound.reason, inbound.processed_at = state, reason[:2000], now()
    fields = ["state", "reason", "processed_at"]
    if parsed is not None:
        inbound.sender, inbound.subject = parsed.sender[:255], parsed.subject[:255]
        inbound.authentication = parsed.authentication.as_dict()
        fields += ["sender", "subject", "authentication"]
    if ticket is not None:
        inbound.ticket_id = ticket.pk
        inbound.ticket_message_id = message.pk if message is not None else None
        fields += ["ticket_id", "ticket_message_id"]
    update_one(InboundEmail, inbound.pk, **{field: getattr(inbound, field) for field in fields})
    return _OUTCOME_OF_STATE.get(state, state)


_OUTCOME_OF_STATE: dict[str, str] = {
    InboundEmail.State.QUARANTINED: Outcome.QUARANTINED, InboundEmail.State.HELD: Outcome.HELD,
    InboundEmail.State.IGNORED: Outcome.IGNORED}


def _retry_later(inbound: InboundEmail, exc: Exception) -> str:
    # What _apply may have set on the row in memory was rolled back in the database: start from there.
    inbound.attempts += 1
    inbound.reason = f"{type(exc).__name__}: {exc}"[:2000]
    fields = ["attempts", "reason", "next_attempt_at", "state"]
    inbound.state = (InboundEmail.State.QUARANTINED if inbound.attempts >= MAX_ATTEMPTS
                     else InboundEmail.State.RECEIVED)
    inbound.next_attempt_at = now() + dt.timedelta(seconds=RETRY_BASE_SECONDS * 2 ** inbound.attempts)
    InboundEmail.objects.filter(pk=inbound.pk).update(**{f: getattr(inbound, f) for f in fields})
    return Outcome.QUARANTINED if inbound.state == InboundEmail.State.QUARANTINED else Outcome.RETRY


# ---------------------------------------------------------------------------------------------- applying


def _apply(inbound: InboundEmail, parsed: ParsedMail) -> str:
    if parsed.automatic:
        return _settle(inbound, InboundEmail.State.IGNORED, reason=parsed.automatic, parsed=parsed)
    ticket, by_headers = find_thread(parsed)
    if ticket is not None and not _from_participant(ticket, parsed):
        if by_headers:
            return _settle(inbound, InboundEmail.State.HELD, reason="sender_not_participant", parsed=parsed,
                           ticket=ticket)
        ticket = None  # a ticket number in the subject from a stranger opens a ticket of their own
    if ticket is not None and parsed.authentication.verdict == "fail":
        return _settle(inbound, InboundEmail.State.HELD, reason="authentication_failed", parsed=parsed,
                       ticket=ticket)
    if ticket is not None and ticket_services.is_finished(ticket):
        ticket = None
    body, uploads = _body_and_uploads(parsed)
    if ticket is not None:
        message = ticket_services.add_customer_message(
            ticket, body, actor=ticket.customer.user, channel=Channel.EMAIL, uploads=uploads,
            html=parsed.html)
        _settle(inbound, InboundEmail.State.PROCESSED, parsed=parsed, ticket=ticket, message=message)
        return Outcome.REPLY
    customer = find_or_create_customer(email=parsed.sender, name=parsed.sender_name)
    ticket = ticket_services.open_ticket(
        customer=customer, subject=_subject(parsed), description=body, actor=customer.user,
        channel=Channel.EMAIL, team=inbound.mailbox.team if inbound.mailbox else None, uploads=uploads,
        html=parsed.html, in_reply_to=parsed.message_id)
    _settle(inbound, InboundEmail.State.PROCESSED, parsed=parsed, ticket=ticket, message=ticket.opening_message)
    return Outcome.NEW_TICKET


def _subject(parsed: ParsedMail) -> str:
    if parsed.subject.strip():
        return parsed.subject
    first_line = next((line.strip() for line in parsed.text.splitlines() if line.strip()), "")
    return first_line[:80] or _("(no subject)")


def _body_and_uploads(parsed: ParsedMail) -> tuple[str, list[ticket_services.Upload]]:
    """The text to show (quoted earlier mail trimmed; the original keeps it) and the attachments the
    ticket may hold; one it may not (type, size) is named in the text and stays in the original."""
    body, _quoted = split_quoted(parsed.text)
    uploads: list[ticket_services.Upload] = []
    refused: list[str] = []
    for attachment in parsed.attachments:
        upload = ticket_services.Upload(attachment.filename, attachment.content, attachment.content_type)
        try:
            ticket_services.validate_upload(upload)
        except DomainError as exc:
            refused.append(str(exc))
            continue
        uploads.append(upload)
    if refused:
        note = _("Not attached here (kept in the original message):")
        body = "\n\n".join(part for part in (body, note + "\n" + "\n".join(f"- {r}" for r in refused)) if part)
    if not body and not uploads:
        body = _("(empty message)")
    return body, uploads


def find_thread(parsed: ParsedMail) -> tuple[Ticket | None, bool]:
    """The ticket this message continues, and whether its headers or reply address said so (True) or only
    a ticket number in the subject did (False)."""
    named = itertools.chain(map(_ticket_of_message_id, parsed.thread_ids),
                            map(ticket_from_reply_address, parsed.recipients))
    for ticket_id in named:  # lazily: the first that names an existing ticket wins
        ticket = _ticket(ticket_id)
        if ticket is not None:
            return ticket, True
    match = SUBJECT_NUMBER.search(parsed.subject)
    if match:
        return _ticket(int(match.group(1))), False
    return None, False


def _ticket(ticket_id: int | None) -> Ticket | None:
    if ticket_id is None:
        return None
    return Ticket.objects.select_related("customer__user").filter(pk=ticket_id).first()


def _ticket_of_message_id(message_id: str) -> int | None:
    ticket_id = ticket_from_thread_id(message_id)
    if ticket_id is not None:
        return ticket_id
    ours = notification_from_message_id(message_id)
    if ours is not None:
        pk, stamp = ours
        notification = Notification.objects.filter(pk=pk).only("ticket_id", "created_at").first()
        if notification is not None and f"{notification.created_at:%Y%m%d%H%M%S}" == stamp:
            return notification.ticket_id
        return None
    # The customer answering their own earlier mail (or copying us on it later).
    return (InboundEmail.objects.filter(message_id=message_id, ticket_id__isnull=False)
            .values_list("ticket_id", flat=True).first())


def is_participant(ticket: Ticket, address: str) -> bool:
    """The ticket's customer, by their address or any email identity of theirs."""
    address = address.lower()
    customer: Customer = ticket.customer
    if customer.email.lower() == address:
        return True
    return CustomerIdentity.objects.filter(customer=customer, channel=Channel.EMAIL, value=address).exists()


def _from_participant(ticket: Ticket, parsed: ParsedMail) -> bool:
    """The mail is from the ticket's customer: its From header is unambiguous and names them."""
    return parsed.sender_certain and is_participant(ticket, parsed.sender)


# ---------------------------------------------------------------------------------------------- batches


def process_due(limit: int = BATCH) -> int:
    """Process stored messages that are waiting (new, or due for another try); returns how many ran."""
    due = list(InboundEmail.objects.filter(state=InboundEmail.State.RECEIVED, next_attempt_at__lte=now())
               .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    verifier = _verifier()
    for pk in due:
        process_email(pk, verify_dkim=verifier)
    return len(due)


def replay(ids: Iterable[int] | None = None) -> dict[str, int]:
    """Process quarantined messages again (after a fix); returns the count of each outcome."""
    queryset = InboundEmail.objects.filter(state=InboundEmail.State.QUARANTINED)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    pks = list(queryset.order_by("pk").values_list("pk", flat=True))
    counts: dict[str, int] = {}
    verifier = _verifier()
    for pk in pks:
        InboundEmail.objects.filter(pk=pk, state=InboundEmail.State.QUARANTINED).update(
            state=InboundEmail.State.RECEIVED, attempts=0, reason="", next_attempt_at=now())
        outcome = process_email(pk, verify_dkim=verifier)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def poll_mailbox(mailbox: Mailbox, *, checkpoint: imap.Checkpoint = lambda stage: None) -> imap.PollResult:
    """Fetch a mailbox's new mail over IMAP (each message stored before it is flagged or deleted there),
    then process what was stored. The mailbox records when it was polled and the last error."""
    def store(raw: bytes) -> bool:
        return receive_email(raw, source=InboundEmail.Source.IMAP, mailbox=mailbox).duplicate

    try:
        result = imap.poll(mailbox, store, checkpoint=checkpoint)
    except (OSError, imaplib.IMAP4.error) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now(), last_error=error)
        raise
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now(), last_error="")
    process_due()
    return result


def poll_active_mailboxes() -> int:
    """Every active mailbox with an IMAP server, one after the other; one failing does not stop the rest."""
    polled = 0
    for mailbox in Mailbox.objects.filter(active=True).exclude(imap_host=""):
        try:
            poll_mailbox(mailbox)
            polled += 1
        except (OSError, imaplib.IMAP4.error):
            log.warning("inbox.poll_failed", extra={"mailbox": mailbox.pk}, exc_info=True)
    return polled


# ---------------------------------------------------------------------------------------------- review


def _require_agent(actor: User) -> None:
    if not actor.is_staff_member:
        raise DomainError(_("Only staff can review held email."), code="forbidden")


@transaction.atomic
def release_held(inbound: InboundEmail, *, actor: User) -> Message:
    """An agent lets a held message join its ticket: as the customer's message when it is from them (it
    had failed authentication), otherwise as an internal note naming the sender."""
    _require_agent(actor)
    inbound = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.state != InboundEmail.State.HELD or inbound.ticket_id is None:
        raise DomainError(_("This message is not waiting for review."), code="not_held")
    parsed = parse_mail(bytes(inbound.raw), trusted_authserv=settings.KEFU["MAIL_TRUSTED_AUTHSERV_IDS"])
    ticket = Ticket.objects.select_related("customer__user").get(pk=inbound.ticket_id)
    body, uploads = _body_and_uploads(parsed)
    if _from_participant(ticket, parsed) and not ticket_services.is_finished(ticket):
        message = ticket_services.add_customer_message(ticket, body, actor=ticket.customer.user,
                                                       channel=Channel.EMAIL, uploads=uploads, html=parsed.html)
    else:
        header = _("Email from %(sender)s, released after review:") % {"sender": parsed.sender}
        message = ticket_services.add_internal_note(ticket, f"{header}\n\n{body}", actor=actor, uploads=uploads)
    _settle(inbound, InboundEmail.State.PROCESSED, reason=f"released by {actor.username}", ticket=ticket,
            message=message)
    record_audit("inbox.released", inbound, actor=actor, changes={"ticket": ticket.pk})
    return message


@transaction.atomic
def reject_held(inbound: InboundEmail, *, actor: User) -> None:
    _require_agent(actor)
    updated = InboundEmail.objects.filter(pk=inbound.pk, state=InboundEmail.State.HELD).update(
        state=InboundEmail.State.REJECTED, processed_at=now(), reason=f"rejected by {actor.username}")
    if not updated:
        raise DomainError(_("This message is not waiting for review."), code="not_held")
    record_audit("inbox.rejected", inbound, actor=actor, changes={})


# ---------------------------------------------------------------------------------------------- messaging channels

_IDENTITY_CHANNEL = {ChannelEndpoint.Kind.SMS: Channel.PHONE, ChannelEndpoint.Kind.WECHAT: Channel.WECHAT,
                     ChannelEndpoint.Kind.WEBHOOK: Channel.WEBHOOK}
_TICKET_CHANNEL = {ChannelEndpoint.Kind.SMS: Channel.SMS, ChannelEndpoint.Kind.WECHAT: Channel.WECHAT,
                   ChannelEndpoint.Kind.WEBHOOK: Channel.WEBHOOK}


def sender_identity(endpoint: ChannelEndpoint, sender: str) -> tuple[str, str]:
    """(identity channel, value) of a sender: a phone number for SMS (the same person as on the phone),
    "<endpoint>:<id>" for WeChat and other apps (their ids mean something only within that account)."""
    if endpoint.kind == ChannelEndpoint.Kind.SMS:
        return Channel.PHONE, sender.strip()
    return _IDENTITY_CHANNEL[ChannelEndpoint.Kind(endpoint.kind)], f"{endpoint.slug}:{sender.strip()}"


@dataclass(frozen=True)
class ChannelMessage:
    external_id: str
    sender: str
    text: str
    sender_name: str = ""
    uploads: tuple[ticket_services.Upload, ...] = ()
    payload: dict[str, object] | None = None


def receive_channel_message(endpoint: ChannelEndpoint, message: ChannelMessage) -> tuple[str, int | None]:
    """One inbound message on a messaging channel → (outcome, ticket id). Idempotent on the external id.

    The sender is one customer across channels (by phone number or their id there). A customer with an
    open ticket touched within the same-matter window gets the message on that ticket, whatever channel
    it began on; otherwise a new ticket opens.
    """
    with transaction.atomic():
        event, new = _record_once(endpoint, message.external_id, message.sender, message.payload or {})
        if not new:
            return Outcome.ALREADY_DONE, event.ticket_id
        identity = sender_identity(endpoint, message.sender)
        customer = find_customer_by_identity(*identity) or create_customer(
            name=message.sender_name or message.sender, actor=None,
            phone=identity[1] if identity[0] == Channel.PHONE else "",
            identities=[identity] if identity[0] != Channel.PHONE else ())
        channel = _TICKET_CHANNEL[ChannelEndpoint.Kind(endpoint.kind)]
        text = message.text.strip()
        ticket = open_ticket_on_same_matter(customer)
        message_id: int | None
        if ticket is not None:
            added = ticket_services.add_customer_message(ticket, text or _("(empty message)"), actor=customer.user,
                                                         channel=channel, uploads=message.uploads)
            outcome, message_id = Outcome.REPLY, int(added.pk)
        else:
            first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
            ticket = ticket_services.open_ticket(
                customer=customer, subject=first_line[:80] or _("Message from %(sender)s") % {"sender": message.sender},
                description=text, actor=customer.user, channel=channel, team=endpoint.team, uploads=message.uploads)
            outcome = Outcome.NEW_TICKET
            message_id = ticket.opening_message.pk if ticket.opening_message else None
        event.ticket_id, event.ticket_message_id = ticket.pk, message_id
        event.save(update_fields=["ticket_id", "ticket_message_id"])
    return outcome, ticket.pk


def _record_once(endpoint: ChannelEndpoint, external_id: str, sender: str,
                 payload: dict[str, object]) -> tuple[InboundEvent, bool]:
    """The row of one inbound event, and whether this call made it (False: it came before, a provider's
    retry or resend, and must have no second effect)."""
    external_id = external_id[:128]
    try:
        with transaction.atomic():
            return InboundEvent.objects.create(endpoint=endpoint, external_id=external_id, sender=sender[:255],
                                               payload=payload), True
    except IntegrityError:
        return InboundEvent.objects.get(endpoint=endpoint, external_id=external_id), False


def open_ticket_on_same_matter(customer: Customer) -> Ticket | None:
    """The customer's most recently updated ticket that is still open and was touched within the
    same-matter window (KEFU_SAME_MATTER_WINDOW_HOURS): a new contact continues it."""
    since = now() - dt.timedelta(hours=settings.KEFU["SAME_MATTER_WINDOW_HOURS"])
    candidates = (Ticket.objects.select_related("customer__user").filter(customer=customer, updated_at__gte=since)
                  .order_by("-updated_at"))
    return next((t for t in candidates[:5] if not ticket_services.is_finished(t)), None)


def send_channel_notification(notification: Notification, subject: str, body: str) -> None:
    """The outbox's sender for SMS, WeChat and other apps (registered in InboxConfig.ready)."""
    reference = f"notification-{notification.pk}"
    text = body.strip() or subject
    if notification.channel == Channel.SMS:
        endpoint = ChannelEndpoint.objects.filter(kind=ChannelEndpoint.Kind.SMS, active=True).order_by("pk").first()
        if endpoint is None:
            raise connectors.ConnectorError("no active SMS gateway")
        connectors.send_sms(endpoint, notification.recipient, text, reference=reference)
        return
    slug, _sep, to = notification.recipient.partition(":")
    endpoint = ChannelEndpoint.objects.filter(slug=slug, kind=notification.channel, active=True).first()
    if endpoint is None or not to:
        raise connectors.ConnectorError(f"no active {notification.channel} channel for {notification.recipient!r}")
    if endpoint.kind == ChannelEndpoint.Kind.WECHAT:
        connectors.send_wechat(endpoint, to, text)
    else:
        connectors.send_webhook(endpoint, to, text, reference=reference, ticket=notification.ticket_id)


# ---------------------------------------------------------------------------------------------- phone (CTI)

CALL_PHASES = ("ringing", "answered", "ended")


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    phase: str
    caller: str
    agent: str = ""  # the agent's user name or email address, as the phone system knows them
    duration_s: int | None = None
    recording_url: str = ""


def _agent_named(name: str) -> User | None:
    if not name:
        return None
    agent = User.objects.filter(username=name).first() or User.objects.filter(email=name.lower()).first()
    return agent if agent is not None and agent.is_staff_member else None


def receive_call_event(endpoint: ChannelEndpoint, call: CallEvent) -> tuple[str, int | None]:
    """One call event from the phone system → (outcome, ticket id); idempotent on (call, phase).

    The caller is matched to a customer by phone number (a new one is created for an unknown number);
    the first event of a call opens a ticket, or continues the caller's open ticket on the same matter,
    and every event is logged on that ticket's timeline.
    """
    if call.phase not in CALL_PHASES:
        raise DomainError(_("Unknown call event “%(phase)s”.") % {"phase": call.phase}, code="invalid_payload")
    with transaction.atomic():
        event, new = _record_once(endpoint, f"{call.call_id}:{call.phase}", call.caller, dataclasses.asdict(call))
        if not new:
            return Outcome.ALREADY_DONE, event.ticket_id
        agent = _agent_named(call.agent)
        ticket = _ticket_of_call(endpoint, call)
        outcome = Outcome.REPLY
        if ticket is None:
            customer = find_or_create_caller(phone=call.caller, name="", actor=None)
            ticket = open_ticket_on_same_matter(customer)
            if ticket is None:
                ticket = ticket_services.open_ticket(
                    customer=customer, subject=_("Phone call from %(caller)s") % {"caller": call.caller},
                    description="", actor=agent, channel=Channel.PHONE, team=endpoint.team)
                outcome = Outcome.NEW_TICKET
        ticket_services.log_call(ticket, call_id=call.call_id, phase=call.phase, caller=call.caller, agent=agent,
                                 duration_s=call.duration_s, recording_url=call.recording_url)
        event.ticket_id = ticket.pk
        event.save(update_fields=["ticket_id"])
    return outcome, ticket.pk


def _ticket_of_call(endpoint: ChannelEndpoint, call: CallEvent) -> Ticket | None:
    earlier = (InboundEvent.objects.filter(endpoint=endpoint, external_id__startswith=f"{call.call_id}:",
                                           ticket_id__isnull=False).values_list("ticket_id", flat=True).first())
    return _ticket(earlier)
