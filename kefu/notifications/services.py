"""Queueing and delivering customer and staff notifications through the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from kefu.core.bulk import insert_rows
from kefu.core.clock import now
from kefu.notifications.models import Notification, StaffAlert

if TYPE_CHECKING:
    from kefu.accounts.models import User

MAX_ATTEMPTS = 8
BATCH = 500


def queue_notification(
    *, recipient: str, template: str, context: dict[str, Any], language: str, ticket_id: int | None = None,
    channel: str = "email",
) -> Notification | None:
    """Write an outbox row in the caller's transaction; the scheduler's delivery sweep sends it once the
    transaction has committed (within seconds), so the write path pays for one insert and nothing more."""
    if not recipient:
        return None
    notification = Notification.objects.create(
        ticket_id=ticket_id, channel=channel, recipient=recipient, template=template,
        language=language or "zh-hans", context=context,
    )
    return notification


def render_notification(notification: Notification) -> tuple[str, str]:
    with translation.override(notification.language):
        subject = render_to_string(f"notifications/{notification.template}.subject.txt", notification.context)
        body = render_to_string(f"notifications/{notification.template}.txt", notification.context)
    return " ".join(subject.split()), body


def delivery_key(notification: Notification) -> str:
    """The idempotency key of a notification, the same on every attempt: its email's Message-ID.

    A worker killed after the mail server accepted a message but before the row was marked delivered
    sends it again on restart (at least once); the receiver recognises the repeat by this key.
    """
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "kefu.localhost"
    return f"<notification.{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@{host}>"


def deliver(notification_id: int) -> bool:
    """Deliver one notification; failures back off exponentially. Idempotent: a delivered row is never
    sent again, and a repeat after a crash carries the same key."""
    with transaction.atomic():
        # skip_locked: on PostgreSQL a row another worker is sending is left to it.
        notification = Notification.objects.select_for_update(skip_locked=True).filter(pk=notification_id).first()
        if notification is None or notification.state != Notification.State.PENDING:
            return False
        subject, body = render_notification(notification)
        try:
            EmailMessage(subject, body, None, [notification.recipient],
                         headers={"Message-ID": delivery_key(notification)}).send()
        except Exception as exc:  # any transport failure is retried later, never lost
            notification.attempts += 1
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.state = Notification.State.FAILED
            notification.next_attempt_at = now() + dt.timedelta(seconds=30 * 2 ** notification.attempts)
            notification.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
            return False
        notification.state = Notification.State.DELIVERED
        notification.delivered_at = now()
        notification.attempts += 1
        notification.save(update_fields=["state", "delivered_at", "attempts"])
        return True


def deliver_due(limit: int = BATCH) -> int:
    """Send what is due, oldest first; returns how many were delivered."""
    due = Notification.objects.filter(
        state=Notification.State.PENDING, next_attempt_at__lte=now()
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    return sum(deliver(pk) for pk in list(due))


@dataclass(frozen=True)
class StaffAlertRequest:
    user: User
    kind: str
    ticket_id: int | None
    text: Callable[[], str]  # called in the recipient's language


def alert_staff_many(requests: Sequence[StaffAlertRequest]) -> None:
    """Bell notices, plus one email per person listing theirs, written in bulk in the caller's transaction.

    One email per person and call, not per notice: a sweep that finds forty deadlines of one agent
    sends that agent one message.
    """
    moment = now()
    alerts: list[tuple[Any, ...]] = []
    digests: dict[int, tuple[User, str, list[tuple[int | None, str]]]] = {}
    by_language: dict[str, list[StaffAlertRequest]] = {}
    for request in requests:
        by_language.setdefault(request.user.language or settings.LANGUAGE_CODE, []).append(request)
    for language, group in by_language.items():
        with translation.override(language):  # each person reads it in their own language
            for request in group:
                user, text = request.user, request.text()
                alerts.append((user.pk, request.ticket_id, request.kind, text[:300], moment))
                digests.setdefault(user.pk, (user, language, []))[2].append((request.ticket_id, text))
    insert_rows(StaffAlert, ["user", "ticket_id", "kind", "text", "created_at"], alerts)
    insert_rows(Notification, ["ticket_id", "channel", "recipient", "template", "language", "context", "state",
                               "attempts", "last_error", "created_at", "next_attempt_at"], [
        (lines[0][0] if len(lines) == 1 else None, "email", user.email, "staff_alert", language,
         {"name": user.name, "lines": [{"ticket_id": t, "text": text} for t, text in lines]},
         Notification.State.PENDING, 0, "", moment, moment)
        for user, language, lines in digests.values() if user.email
    ])


def mark_alerts_read(user: User, alert_ids: Iterable[int] | None = None) -> int:
    unread = StaffAlert.objects.filter(user=user, read_at__isnull=True)
    if alert_ids is not None:
        unread = unread.filter(pk__in=list(alert_ids))
    return unread.update(read_at=now())
