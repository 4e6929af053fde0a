"""Queueing and delivering customer and staff notifications through the outbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import translation

from kefu.core.bulk import insert_many, insert_rows
from kefu.core.clock import now
from kefu.core.shortcache import short_lived
from kefu.notifications.mailthread import mail_host, ticket_reply_address, ticket_thread_id
from kefu.notifications.models import (
    Notification,
    NotificationTemplate,
    OutboxRow,
    StaffAlert,
    WebhookDelivery,
    WebhookEndpoint,
)

if TYPE_CHECKING:
    from kefu.accounts.models import User

MAX_ATTEMPTS = 8
BATCH = 500
WEBHOOK_TIMEOUT_S = 10
Row = TypeVar("Row", bound=OutboxRow)


def queue_notification(
    *, recipient: str, template: str, context: dict[str, Any], language: str, ticket_id: int | None = None,
    channel: str = "email",
) -> None:
    """Write an outbox row in the caller's transaction; the scheduler's delivery sweep sends it once the
    transaction has committed (within seconds), so the write path pays for one insert and nothing more."""
    if recipient:
        insert_many([Notification(ticket_id=ticket_id, channel=channel, recipient=recipient, template=template,
                                  language=language or "zh-hans", context=context)])


def render_notification(notification: Notification) -> tuple[str, str]:
    """Subject and body in the notification's language: an admin's active wording if there is one, else
    the shipped template."""
    with translation.override(notification.language):
        custom = NotificationTemplate.objects.filter(template=notification.template,
                                                     language=notification.language, active=True).first()
        if custom is not None:
            context = Context(notification.context, autoescape=False)  # plain-text mail
            subject, body = Template(custom.subject).render(context), Template(custom.body).render(context)
        else:
            subject = render_to_string(f"notifications/{notification.template}.subject.txt", notification.context)
            body = render_to_string(f"notifications/{notification.template}.txt", notification.context)
    return " ".join(subject.split()), body


def delivery_key(notification: Notification) -> str:
    """The idempotency key of a notification, the same on every attempt: its email's Message-ID.

    A worker killed after the mail server accepted a message but before the row was marked delivered
    sends it again on restart (at least once); the receiver recognises the repeat by this key.
    """
    return f"<notification.{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@{mail_host()}>"


def mail_headers(notification: Notification) -> dict[str, str]:
    """Message-ID (the idempotency key) and, for a ticket's mail, the headers that keep the customer's
    mail client threading it with the rest and bring their reply back to the ticket."""
    headers = {"Message-ID": delivery_key(notification)}
    if notification.ticket_id is not None:
        root = ticket_thread_id(notification.ticket_id)
        answered = str(notification.context.get("in_reply_to", ""))
        headers["In-Reply-To"] = answered or root
        headers["References"] = f"{root} {answered}".strip()
        reply_to = ticket_reply_address(notification.ticket_id)
        if reply_to:
            headers["Reply-To"] = reply_to
    return headers


ChannelSender = Callable[["Notification", str, str], None]
"""Sends one notification (subject, body) on a channel other than email; raises on failure."""
CHANNEL_SENDERS: dict[str, ChannelSender] = {}


def register_channel_sender(channel: str, sender: ChannelSender) -> None:
    """Apps that connect a channel (SMS, WeChat, other apps) register how to send on it."""
    CHANNEL_SENDERS[channel] = sender


class UndeliverableAddress(ValueError):
    """The recipient is not one email address (a line break, a control character, a list): no retry helps."""


def one_line(value: str) -> str:
    """A header value on one line: line breaks (CR, LF, U+2028…), tabs and other control characters become
    single spaces.

    Every header of every mail passes through here, because any of them may carry text someone typed (a
    ticket subject or a name in an admin's subject line, a Message-ID taken from a customer's mail): a line
    break would start a new header (Bcc:), and Django refuses such a value outright, which would fail the
    notification on every attempt.
    """
    return " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value).split())


def _recipient(notification: Notification) -> str:
    address = notification.recipient.strip()
    if one_line(address) != address or len(getaddresses([address])) != 1 or "@" not in address:
        raise UndeliverableAddress(f"the recipient {address!r} is not one email address")
    return address


def _send(notification: Notification, subject: str, body: str) -> None:
    if notification.channel == "email":
        headers = {name: one_line(value) for name, value in mail_headers(notification).items()}
        EmailMessage(one_line(subject), body, None, [_recipient(notification)], headers=headers).send()
        return
    sender = CHANNEL_SENDERS.get(notification.channel)
    if sender is None:
        raise LookupError(f"no sender for channel {notification.channel!r}")
    sender(notification, subject, body)


def deliver(notification_id: int) -> bool:
    """Deliver one notification; failures back off exponentially. Idempotent: a delivered row is never
    sent again, and a repeat after a crash carries the same key."""
    notification = _claim(Notification, notification_id)
    if notification is None:
        return False
    subject, body = render_notification(notification)
    try:
        _send(notification, subject, body)
    except UndeliverableAddress as exc:  # kept, marked failed for people to see: it will never go out
        _settle(notification, error=f"{type(exc).__name__}: {exc}", final=True)
        return False
    except Exception as exc:  # any transport failure is retried later, never lost
        _settle(notification, error=f"{type(exc).__name__}: {exc}")
        return False
    _settle(notification)
    return True


def _claim(model: type[Row], pk: int) -> Row | None:
    """Take a due row for sending, in a short transaction of its own.

    The send happens outside any transaction (a slow mail server or webhook receiver must not hold
    SQLite's write lock), under a lease: the row is not due again until the lease has passed
    (KEFU_DELIVERY_LEASE_SECONDS), so a worker killed mid-send leaves it to be retried, with the same key.
    """
    with transaction.atomic():
        # skip_locked: on PostgreSQL a row another worker is claiming is left to it.
        row = (model._default_manager.select_for_update(skip_locked=True)
               .filter(pk=pk, state=OutboxRow.State.PENDING, next_attempt_at__lte=now()).first())
        if row is not None:
            row.next_attempt_at = now() + dt.timedelta(seconds=settings.KEFU["DELIVERY_LEASE_SECONDS"])
            row.save(update_fields=["next_attempt_at"])
        return row


def _settle(row: OutboxRow, *, error: str | None = None, final: bool = False, **fields: Any) -> None:
    row.attempts += 1
    for name, value in fields.items():
        setattr(row, name, value)
    if error is None:
        row.state, row.delivered_at = OutboxRow.State.DELIVERED, now()
    else:
        row.last_error = error[:2000]
        if final or row.attempts >= MAX_ATTEMPTS:
            row.state = OutboxRow.State.FAILED
        row.next_attempt_at = now() + dt.timedelta(seconds=settings.KEFU["RETRY_BASE_SECONDS"] * 2 ** row.attempts)
    row.save(update_fields=["attempts", "state", "delivered_at", "last_error", "next_attempt_at", *fields])


def deliver_due(limit: int = BATCH) -> int:
    """Send what is due, oldest first; returns how many were delivered."""
    due = Notification.objects.filter(
        state=Notification.State.PENDING, next_attempt_at__lte=now()
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    return sum(deliver(pk) for pk in list(due))


class StaffAlertRequest(NamedTuple):
    """One notice for one person (a tuple: a sweep asks for thousands at once)."""

    user: User
    kind: str
    ticket_id: int | None
    text: Callable[[str], str]  # called with the recipient's language, which is then active


def alert_staff_many(requests: Sequence[StaffAlertRequest]) -> None:
    """Bell notices, plus one email per person listing theirs, written in bulk in the caller's transaction.

    One email per person and call, not per notice: a sweep that finds forty deadlines of one agent
    sends that agent one message.
    """
    moment = now()
    alerts: list[tuple[Any, ...]] = []
    digests: dict[int, tuple[User, str, list[tuple[int | None, str]]]] = {}
    by_language: dict[str, list[StaffAlertRequest]] = {}
    default_language = settings.LANGUAGE_CODE  # read once: each read of a setting goes through a lazy proxy
    for request in requests:
        by_language.setdefault(request.user.language or default_language, []).append(request)
    worded: dict[tuple[Callable[[str], str], str], str] = {}  # a notice shared by several people is worded once
    for language, group in by_language.items():
        with translation.override(language):  # each person reads it in their own language
            for request in group:
                user = request.user
                try:
                    text = worded[request.text, language]
                except KeyError:
                    text = worded[request.text, language] = request.text(language)
                alerts.append((user.id, request.ticket_id, request.kind, text[:300], moment))
                digests.setdefault(user.id, (user, language, []))[2].append((request.ticket_id, text))
    insert_rows(StaffAlert, ["user", "ticket_id", "kind", "text", "created_at"], alerts)
    insert_rows(Notification, ["ticket_id", "channel", "recipient", "template", "language", "context", "state",
                               "attempts", "last_error", "created_at", "next_attempt_at"], [
        (lines[0][0] if len(lines) == 1 else None, "email", user.email, "staff_alert", language,
         {"name": user.name, "lines": [{"ticket_id": t, "text": text} for t, text in lines]},
         Notification.State.PENDING, 0, "", moment, moment)
        for user, language, lines in digests.values() if user.email
    ])


def mark_alerts_read(user: User) -> int:
    return StaffAlert.objects.filter(user=user, read_at__isnull=True).update(read_at=now())


# ---------------------------------------------------------------------------------------------- webhooks


@dataclass(frozen=True)
class WebhookEvent:
    key: str  # the idempotency key, unique per endpoint
    type: str
    ticket_id: int | None
    payload: dict[str, Any]


# Read at most every few seconds per process: the intake path pays nothing per event.
active_endpoints = short_lived(lambda: list(WebhookEndpoint.objects.filter(active=True)))


def queue_webhooks(events: Iterable[WebhookEvent]) -> None:
    """One delivery per event and interested endpoint, in the caller's transaction (the outbox pattern)."""
    endpoints = active_endpoints.get()
    if not endpoints:
        return
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=e, key=event.key, event_type=event.type, ticket_id=event.ticket_id,
                         payload=event.payload) for event in events for e in endpoints if e.wants(event.type)],
        ignore_conflicts=True)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_webhook(delivery_id: int) -> bool:
    delivery = _claim(WebhookDelivery, delivery_id)
    if delivery is None:
        return False
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    body = json.dumps({"id": delivery.key, "type": delivery.event_type, "ticket_id": delivery.ticket_id,
                       "created_at": delivery.created_at.isoformat(), "data": delivery.payload},
                      ensure_ascii=False, separators=(",", ":")).encode()
    if not endpoint.url.startswith(("http://", "https://")):
        _settle(delivery, error="only http and https URLs are allowed")
        return False
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={  # noqa: S310 (checked above)
        "Content-Type": "application/json", "User-Agent": "kefu-webhooks/1",
        "X-Kefu-Event": delivery.event_type, "X-Kefu-Delivery": delivery.key,
        "X-Kefu-Signature": signature(endpoint.secret, body)})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # noqa: S310 (checked above)
            status = response.status
    except urllib.error.HTTPError as exc:
        _settle(delivery, error=f"HTTP {exc.code}", last_status=exc.code)
        return False
    except (OSError, ValueError) as exc:  # refused, timed out, bad URL: retried later, never lost
        _settle(delivery, error=f"{type(exc).__name__}: {exc}")
        return False
    _settle(delivery, last_status=status)
    return True


def deliver_due_webhooks(limit: int = BATCH) -> int:
    due = (WebhookDelivery.objects.filter(state=OutboxRow.State.PENDING, next_attempt_at__lte=now())
           .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(deliver_webhook(pk) for pk in list(due))
