from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class Notification(models.Model):
    """The outbox: written in the transaction that caused it, delivered afterwards by the worker."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    ticket_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, default="email")
    recipient = models.CharField(_("recipient"), max_length=255)
    template = models.CharField(_("template"), max_length=64)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    context = models.JSONField(default=dict)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    next_attempt_at = models.DateTimeField(default=now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"


class StaffAlert(models.Model):
    """A notice for a member of staff: the console's bell lists the unread ones; each is also emailed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    ticket_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=40)
    text = models.CharField(_("text"), max_length=300)
    created_at = models.DateTimeField(default=now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="alert_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"
