"""Queueing and delivering customer and staff notifications through the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from kefu.core.clock import now
from kefu.notifications.models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def queue_notification(
    *, recipient: str, template: str, context: dict[str, Any], language: str, ticket_id: int | None = None,
    channel: str = "email",
) -> Notification | None:
    """Write an outbox row in the caller's transaction; delivery starts after it commits."""
    if not recipient:
        return None
    notification = Notification.objects.create(
        ticket_id=ticket_id, channel=channel, recipient=recipient, template=template,
        language=language or "zh-hans", context=context,
    )
    transaction.on_commit(lambda: _enqueue_delivery(notification.pk))
    return notification


def _enqueue_delivery(notification_id: int) -> None:
    from kefu.notifications.tasks import deliver_notification

    try:
        deliver_notification.enqueue(notification_id)
    except Exception:
        # The row is safe in the outbox; the periodic sweep will deliver it.
        log.exception("notification.enqueue_failed", extra={"notification_id": notification_id})


def render_notification(notification: Notification) -> tuple[str, str]:
    with translation.override(notification.language):
        subject = render_to_string(f"notifications/{notification.template}.subject.txt", notification.context)
        body = render_to_string(f"notifications/{notification.template}.txt", notification.context)
    return " ".join(subject.split()), body


def deliver(notification_id: int) -> bool:
    """Deliver one notification exactly once; failures back off exponentially. Idempotent."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
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


def deliver_due(limit: int = 100) -> int:
    due = Notification.objects.filter(
        state=Notification.State.PENDING, next_attempt_at__lte=now()
    ).values_list("pk", flat=True)[:limit]
    return sum(deliver(pk) for pk in list(due))
