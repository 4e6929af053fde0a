"""Roll-ups the dashboards read instead of the raw tables (docs/metrics.md says what each figure counts).

``Fact`` is one counter of one day, for the whole help desk (dimension "all") or for one value of one breakdown
(channel, category, team, agent, tier, priority): how many (``n``) and, for durations, the seconds summed
(``total``). Every event adds to one row per dimension, so each breakdown's rows add up to the total.
``TicketFacts`` remembers what a ticket has contributed, so that a reopened ticket is counted at its latest
resolution and "once per ticket" figures (transferred, escalated, switched channel) are counted once.
``RollupCursor`` is how far the roll-up has read the event log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class Fact(models.Model):
    day = models.DateField()
    dimension = models.CharField(max_length=12)
    value = models.CharField(max_length=64, blank=True)
    metric = models.CharField(max_length=40)
    n = models.BigIntegerField(default=0)
    total = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dimension", "metric", "day", "value"], name="fact_once")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value} {self.metric}: {self.n}"


class TicketFacts(models.Model):
    ticket = models.OneToOneField("tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="+")
    created_day = models.DateField()
    created_dims = models.JSONField(default=dict)
    customer_messages = models.PositiveIntegerField(default=1)
    transferred = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    switched_channel = models.BooleanField(default=False)
    reopens = models.PositiveIntegerField(default=0)
    # The latest resolution's contribution, taken back when the ticket is reopened.
    resolved_day = models.DateField(null=True, blank=True)
    resolved_dims = models.JSONField(default=dict)
    resolution_metrics = models.JSONField(default=dict)  # metric → (n, total)

    def __str__(self) -> str:
        return f"facts of #{self.ticket_id}"


class RollupCursor(models.Model):
    """How far one roll-up has read: the event log by id ("events"); chats and the assistant's conversations by
    the moment they ended, then id ("chats", "bot")."""

    name = models.CharField(max_length=40, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_at or ''} #{self.last_id}"


class Report(models.Model):
    """A weekly or monthly report (kefu.analytics.reports): the period's figures, kept as they were computed, so
    the page, the downloads and the mail read one row. Regenerating a period updates its row in place."""

    class Kind(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    generated_at = models.DateTimeField(_("generated"), default=now)
    # Set once, when the subscribers' mails are queued (the claim that makes the mailing happen once).
    mailed_at = models.DateTimeField(_("mailed"), null=True, blank=True)
    figures = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [models.UniqueConstraint(fields=["kind", "start"], name="report_once")]
        indexes = [models.Index(fields=["-start", "-id"], name="report_newest")]

    def __str__(self) -> str:
        return f"{self.kind} {self.start}–{self.end}"


class ReportSubscription(models.Model):
    """A member of staff who receives each new report of one kind by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=Report.Kind.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="report_subscription_once")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"


class TopIssuesGrouping(models.Model):
    """The text grouping of one top-issues period (kefu.analytics.top_issues), computed by a background task so
    that the page reads a row instead of grouping tens of thousands of tickets. ``limits`` records the knobs it
    was computed with; a row computed after its period ended is final. ``claimed_until`` keeps two workers from
    computing the same period at once (a claim lapses if its worker dies)."""

    start = models.DateField()
    end = models.DateField()
    previous_start = models.DateField()
    previous_end = models.DateField()
    month = models.CharField(max_length=7, blank=True)  # "2026-11" for a calendar month, "" for the last days
    limits = models.CharField(max_length=40)
    computed_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    grouping = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["start", "end", "previous_start", "previous_end", "limits"],
                                               name="top_issues_grouping_once")]

    def __str__(self) -> str:
        return f"top issues {self.start}–{self.end} ({self.limits})"
