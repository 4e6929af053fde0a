"""Frontline authority: what an agent or a supervisor may decide alone (refunds, compensation… up to an
amount), and the decisions taken on tickets — alone within the limit, or requested and then approved or
rejected by someone with more authority."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class DecisionKind(models.Model):
    """Something with a cost that an agent may grant a customer: a refund, compensation, a fee waiver…"""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("decision kind")
        verbose_name_plural = _("decision kinds")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.label()

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        from kefu.approvals.selectors import active_kinds_cache

        active_kinds_cache.forget()  # this process at once, the others within seconds (kefu.core.shortcache)

    def label(self, language: str | None = None) -> str:
        return self.name_zh if (language or get_language() or "zh-hans").startswith("zh") else self.name_en


class LimitRole(models.TextChoices):
    """The roles that have a limit; administrators are unlimited, other roles decide nothing."""

    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")


class AuthorityLimit(models.Model):
    """The most a role may decide alone for one kind. No row: that role may not decide this kind alone."""

    kind = models.ForeignKey(DecisionKind, on_delete=models.CASCADE, related_name="limits",
                             verbose_name=_("decision kind"))
    role = models.CharField(_("role"), max_length=16, choices=LimitRole.choices)
    max_amount = models.DecimalField(_("most it may decide alone (CNY)"), max_digits=12, decimal_places=2)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("authority limit")
        verbose_name_plural = _("authority limits")
        constraints = [
            models.UniqueConstraint(fields=["kind", "role"], name="approvals_limit_kind_role"),
            models.CheckConstraint(condition=Q(max_amount__gte=0), name="approvals_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind.key}/{self.role} ≤ {self.max_amount}"


class Decision(models.Model):
    """One decision with a cost on a ticket: taken alone within the actor's limit, or a request for approval."""

    class State(models.TextChoices):
        DECIDED = "decided", _("Decided within the limit")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="decisions",
                               verbose_name=_("ticket"))
    kind = models.ForeignKey(DecisionKind, on_delete=models.PROTECT, related_name="decisions",
                             verbose_name=_("decision kind"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    # Who may approve a pending request: a supervisor (within the supervisors' limit) or only an administrator.
    approver_role = models.CharField(_("approved by"), max_length=16, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested"), default=now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # Set when the approvers were reminded of a request left waiting (once per request).
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        indexes = [models.Index(fields=["state", "requested_at"], name="approvals_state_requested")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="approvals_amount_positive")]

    def __str__(self) -> str:
        return f"{self.kind_id} {self.amount} {self.currency} on #{self.ticket_id} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    @property
    def granted(self) -> bool:
        """The customer may be told yes: decided alone or approved."""
        return self.state in {self.State.DECIDED, self.State.APPROVED}

    @property
    def amount_display(self) -> str:
        return f"{self.amount.quantize(Decimal('0.01'))} {self.currency}"
