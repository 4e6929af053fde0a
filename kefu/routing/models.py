from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, Skill
from kefu.core.clock import now
from kefu.customers.models import Channel
from kefu.routing.strategies import Strategy
from kefu.tickets.models import Ticket

STRATEGY_LABELS = {
    Strategy.ROUND_ROBIN: _("Round robin"),
    Strategy.LEAST_LOADED: _("Least loaded"),
    Strategy.BEST_SKILL: _("Best skill match"),
    Strategy.STICKY: _("Sticky (returning customer to the same agent)"),
}


class RoutingConfiguration(models.Model):
    """Queues and rules: every process caches them for a few seconds (kefu.routing.engine); an edit made here
    is seen by this process at once."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        forget_routing_configuration()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        forget_routing_configuration()
        return result


class Queue(RoutingConfiguration):
    """Where waiting work lines up for one team (and, optionally, some channels)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    team = models.ForeignKey(Department, verbose_name=_("team"), on_delete=models.PROTECT, related_name="queues")
    channels = models.JSONField(_("channels"), default=list, blank=True,
                                help_text=_("Tickets of these channels go here when no rule says otherwise; "
                                            "empty for every channel."))
    strategy = models.CharField(_("assignment strategy"), max_length=16,
                                choices=[(s.value, label) for s, label in STRATEGY_LABELS.items()],
                                default=Strategy.BEST_SKILL)
    target_wait_minutes = models.PositiveIntegerField(_("longest wait before an alert (minutes)"), default=30)
    lane_target_wait_minutes = models.PositiveIntegerField(
        _("priority lane: longest wait (minutes)"), default=10,
        help_text=_("Urgent tickets and VIP / core customers."))
    alert_max_waiting = models.PositiveIntegerField(_("alert when more than this many wait"), default=20)
    position = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def accepts_channel(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


class RoutingRule(RoutingConfiguration):
    """Conditions on a new ticket → the queue it waits in and the skills it needs. First match wins."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("order"), default=100, help_text=_("Lower is tried first."))
    active = models.BooleanField(_("active"), default=True)
    # Conditions: an empty list matches anything.
    categories = models.JSONField(_("categories (slugs)"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True,
                                help_text=_("Any of these words in the subject or description."))
    queue = models.ForeignKey(Queue, verbose_name=_("queue"), on_delete=models.CASCADE, related_name="rules")
    required_skills = models.JSONField(_("required skills"), default=dict, blank=True,
                                       help_text=_('Skill key → lowest level, e.g. {"refunds": 3}.'))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = rule_problems(self.required_skills, [self.categories, self.priorities, self.channels,
                                                        self.languages, self.tiers, self.tags, self.keywords])
        if problems:
            raise ValidationError(problems)


def rule_problems(required_skills: object, conditions: list[object]) -> dict[str, str]:
    problems = {}
    if not isinstance(required_skills, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and 1 <= v <= 5 for k, v in required_skills.items()):
        problems["required_skills"] = str(_('Skill keys with a level from 1 to 5, e.g. {"refunds": 3}.'))
    elif unknown := set(required_skills) - set(Skill.objects.filter(slug__in=list(required_skills))
                                               .values_list("slug", flat=True)):
        problems["required_skills"] = str(_("Unknown skills: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if not all(isinstance(c, list) and all(isinstance(v, str) for v in c) for c in conditions):
        problems["__all__"] = str(_("Every condition is a list of values (empty for any)."))
    return problems


def forget_routing_configuration() -> None:
    # This process sees an edit at once, others within a few seconds (kefu.core.shortcache).
    from kefu.routing.engine import forget_configuration

    forget_configuration()


class RoutingEntry(models.Model):
    """A ticket's place in a queue: waiting until an agent has it, then assigned; done once finished."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        ASSIGNED = "assigned", _("Assigned")
        DONE = "done", _("Done")

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="routing")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="entries", db_index=False)
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    # The service order (kefu.routing.strategies.WorkItem.service_key), stored so that the waiting line reads
    # in index order.
    lane = models.PositiveSmallIntegerField(default=1)
    priority_rank = models.PositiveSmallIntegerField(default=2)
    tier_rank = models.PositiveSmallIntegerField(default=2)
    due_at = models.DateTimeField(help_text=_("The deadline that breaches first: an SLA clock or the queue's "
                                              "wait target."))
    enqueued_at = models.DateTimeField(default=now)
    priority = models.CharField(max_length=8, default="normal")
    tier = models.CharField(max_length=10, default="standard")
    required_skills = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, blank=True)
    previous_agent_id = models.BigIntegerField(null=True, blank=True)
    excluded_agent_id = models.BigIntegerField(null=True, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", db_index=False)
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        indexes = [
            # The waiting line in service order; assigned and finished entries are not in it.
            models.Index(fields=["queue", "lane", "priority_rank", "tier_rank", "due_at", "enqueued_at", "ticket"],
                         name="routing_waiting_line", condition=Q(state="waiting")),
            models.Index(fields=["queue", "state"], name="routing_queue_state"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} in {self.queue_id} ({self.state})"


class QueueAlert(models.Model):
    """An open (or past) alert on a queue: too many waiting, or a wait longer than its target."""

    class Kind(models.TextChoices):
        TOO_MANY_WAITING = "too_many_waiting", _("Too many waiting")
        WAIT_TOO_LONG = "wait_too_long", _("Wait too long")

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    opened_at = models.DateTimeField(_("opened"), default=now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    waiting = models.PositiveIntegerField(_("waiting"), default=0)
    longest_wait_s = models.PositiveIntegerField(_("longest wait (s)"), default=0)

    class Meta:
        verbose_name = _("queue alert")
        verbose_name_plural = _("queue alerts")
        constraints = [models.UniqueConstraint(fields=["queue", "kind"], condition=Q(closed_at__isnull=True),
                                               name="queue_alert_one_open")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.queue}"
