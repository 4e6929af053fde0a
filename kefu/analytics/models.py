"""Roll-ups the dashboards read instead of the raw tables (docs/metrics.md says what each figure counts).

``Fact`` is one counter of one day, for the whole help desk (dimension "all") or for one value of one breakdown
(channel, category, team, agent, tier, priority): how many (``n``) and, for durations, the seconds summed
(``total``). Every event adds to one row per dimension, so each breakdown's rows add up to the total.
``TicketFacts`` remembers what a ticket has contributed, so that a reopened ticket is counted at its latest
resolution and "once per ticket" figures (transferred, escalated, switched channel) are counted once.
``RollupCursor`` is how far the roll-up has read the event log.
"""

from __future__ import annotations

from django.db import models


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
    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_event_id}"
