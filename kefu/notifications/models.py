from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now
from kefu.core.ids import new_secret


class OutboxRow(models.Model):
    """Something to deliver once, after the transaction that wrote it: retried with back-off."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    next_attempt_at = models.DateTimeField(default=now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Notification(OutboxRow):
    """The outbox: written in the transaction that caused it, delivered afterwards by the worker."""

    ticket_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, default="email")
    recipient = models.CharField(_("recipient"), max_length=255)
    template = models.CharField(_("template"), max_length=64)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    context = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"


class StaffAlert(models.Model):
    """A notice for a member of staff: the console's bell lists the unread ones; each is also emailed."""

    # Indexed by alert_user_unread, which leads with it. No constraint in the database (decision 0010): a sweep
    # writes thousands of alerts for a handful of people read in the same transaction.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts", db_index=False,
                             db_constraint=False)
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


def _new_webhook_secret() -> str:
    return new_secret(32)


class WebhookEndpoint(models.Model):
    """Another system that follows ticket events: each is POSTed as JSON, signed with HMAC-SHA256."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100, default=_new_webhook_secret)
    events = models.JSONField(
        _("event types"), default=list, blank=True,
        help_text=_('Timeline event types to send, e.g. ["created", "status_changed"]; empty for all.'))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        from kefu.notifications.services import active_endpoints

        # This process sees the change at once, others within a few seconds. Endpoints are switched off,
        # never deleted (admin), so a process with an older list never points a delivery at a missing row.
        active_endpoints.forget()

    def clean(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValidationError({"url": _("Webhooks are sent over http or https only.")})
        if not isinstance(self.events, list) or not all(isinstance(e, str) for e in self.events):
            raise ValidationError({"events": _("A list of event type names, or empty for all.")})

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.events or event_type in self.events)


class WebhookDelivery(OutboxRow):
    """One event for one endpoint: the delivery log. `key` is the idempotency key sent with each attempt."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    key = models.CharField(max_length=80)
    event_type = models.CharField(max_length=40)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_due")]
        constraints = [models.UniqueConstraint(fields=["endpoint", "key"], name="webhook_delivery_once")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"


TEMPLATE_VARIABLES = {
    "ticket_received": ("number", "subject", "customer_name", "owner_name", "tracking_url"),
    "ticket_update": ("number", "subject", "customer_name", "summary", "body", "tracking_url"),
    "login_link": ("url", "minutes"),
    "staff_alert": ("name", "lines"),
    "survey": ("number", "subject", "customer_name", "tracking_url", "survey_url", "days"),
    "survey_reminder": ("number", "subject", "customer_name", "tracking_url", "survey_url", "expires_on"),
    "survey_thanks": ("number", "subject", "customer_name", "tracking_url"),
    # kefu.analytics.reports: the headline figures come formatted ("—" for a rate without a denominator).
    "report": ("name", "kind", "start", "end", "volume", "first_response_mean", "resolution_mean", "fcr_rate",
               "csat", "nps", "qa_pass_rate", "url"),
}


class NotificationTemplate(models.Model):
    """An admin's wording for one message in one language, in place of the shipped template."""

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    template = models.CharField(_("message"), max_length=64, choices=[(t, t) for t in TEMPLATE_VARIABLES])
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"), help_text=_("Django template syntax: {{ variable }}, {% if %}, {% for %}."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        constraints = [models.UniqueConstraint(fields=["template", "language"], name="notification_template_once")]

    def __str__(self) -> str:
        return f"{self.template} ({self.language})"

    def clean(self) -> None:
        from django.template import Template, TemplateSyntaxError

        for field in ("subject", "body"):
            try:
                Template(getattr(self, field))
            except TemplateSyntaxError as exc:
                raise ValidationError({field: _("Template error: %(error)s") % {"error": exc}}) from None
