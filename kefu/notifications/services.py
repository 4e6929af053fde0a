"""Queueing and delivering customer and staff notifications through the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

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


def deliver(notification_id: int) -> bool:
    """Deliver one notification exactly once; failures back off exponentially. Idempotent."""
    with transaction.atomic():
        # skip_locked: on PostgreSQL a row another worker is sending is left to it.
        notification = Notification.objects.select_for_update(skip_locked=True).filter(pk=notification_id).first()
        if notification is None or notification.state != Notification.State.PENDING:
            return False
        subject, body = render_notification(notification)
        try:
            send_mail(subject, body, None, [notification.recipient])
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


def alert_staff(users: Iterable[User], *, kind: str, text: str, ticket_id: int | None = None) -> list[StaffAlert]:
    """A bell notice for each person, and the same by email, both in the caller's transaction."""
    alerts = []
    for user in {u.pk: u for u in users}.values():
        alerts.append(StaffAlert(user=user, ticket_id=ticket_id, kind=kind, text=text[:300]))
        queue_notification(recipient=user.email, template="staff_alert", language=user.language or "zh-hans",
                           ticket_id=ticket_id, context={"text": text, "ticket_id": ticket_id, "name": user.name})
    return StaffAlert.objects.bulk_create(alerts)


def mark_alerts_read(user: User, alert_ids: Iterable[int] | None = None) -> int:
    unread = StaffAlert.objects.filter(user=user, read_at__isnull=True)
    if alert_ids is not None:
        unread = unread.filter(pk__in=list(alert_ids))
    return unread.update(read_at=now())
