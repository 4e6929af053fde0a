from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class AuditEntry(models.Model):
    """An audit row for a write that is not part of a ticket's timeline (profiles, tokens, settings).

    Ticket writes are audited by their TicketEvent; this covers everything else.
    """

    at = models.DateTimeField(_("at"), default=now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=64)
    target_id = models.CharField(_("target id"), max_length=64)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class RateCounter(models.Model):
    """One key's attempts in the current window of a rate limit (kefu.core.ratelimit); the key is hashed."""

    key = models.CharField(max_length=80, primary_key=True)
    bucket = models.BigIntegerField()  # the window's number: seconds since the epoch // the window's length
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
