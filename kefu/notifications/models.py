from __future__ import annotations

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
