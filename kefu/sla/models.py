"""Service-level policies, business calendars, and the clocks running on each ticket."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department
from kefu.core.clock import now
from kefu.sla.businesstime import week_problems
from kefu.sla.policies import Conditions, Milestone, Targets, milestone_problems
from kefu.tickets.models import Ticket

MILESTONE_LABELS = {"diagnosis": _("Diagnosis"), "solution_plan": _("Solution plan")}
OFFICE_HOURS = {str(day): [[9 * 60, 12 * 60], [13 * 60, 18 * 60]] for day in range(5)}


def _office_hours() -> dict[str, list[list[int]]]:
    return {day: [list(interval) for interval in intervals] for day, intervals in OFFICE_HOURS.items()}


class BusinessCalendar(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    week = models.JSONField(
        _("working hours"), default=_office_hours,
        help_text=_("Per weekday (0 = Monday) a list of [start, end] in minutes after midnight."),
    )
    china_holidays = models.BooleanField(
        _("mainland China holidays"), default=True,
        help_text=_("Statutory holidays and make-up working days (调休) from the holidays library."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        from kefu.sla.calendars import calendar_stamps

        calendar_stamps.forget()

    def clean(self) -> None:
        problems = week_problems(self.week) if isinstance(self.week, dict) else ["expected an object"]
        if problems:
            raise ValidationError({"week": problems})
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": _("Unknown time zone.")}) from None


class CalendarException(models.Model):
    """A date that differs from the usual week: a holiday, or a working day (调休) on a weekend."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (not worked)")
        WORKDAY = "workday", _("Working day")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_exception_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._touch_calendar()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self._touch_calendar()
        return result

    def _touch_calendar(self) -> None:
        # Built calendars are cached by the calendar's updated_at (kefu.sla.calendars).
        from kefu.sla.calendars import calendar_stamps

        BusinessCalendar.objects.filter(pk=self.calendar_id).update(updated_at=now())
        calendar_stamps.forget()


class SlaPolicy(models.Model):
    class BreachAction(models.TextChoices):
        NOTIFY = "notify", _("Notify the supervisor only")
        RAISE_PRIORITY = "raise_priority", _("Raise the priority")
        REASSIGN_TEAM = "reassign_team", _("Move to another team")
        REROUTE = "reroute", _("Give it to another agent (routing)")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("order"), default=100, help_text=_("Lower is tried first."))
    active = models.BooleanField(_("active"), default=True)
    # Conditions: an empty list matches anything.
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    complexities = models.JSONField(_("complexities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    categories = models.JSONField(_("categories (slugs)"), default=list, blank=True)
    teams = models.ManyToManyField(Department, verbose_name=_("teams"), blank=True, related_name="+")
    # Targets, in minutes.
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("business calendar"), null=True, blank=True, on_delete=models.PROTECT,
        help_text=_("Measure in this calendar's working hours; empty for calendar time (24/7)."),
    )
    first_response_minutes = models.PositiveIntegerField(_("first response"), null=True, blank=True)
    update_every_minutes = models.PositiveIntegerField(_("customer update every"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution"), null=True, blank=True)
    reevaluation_minutes = models.PositiveIntegerField(_("re-evaluation after an objection"), null=True,
                                                       blank=True, default=12 * 60)
    milestones = models.JSONField(
        _("milestones"), default=list, blank=True,
        help_text=_('e.g. [{"name": "diagnosis", "minutes": 60, "starts_on": "accepted", "met_on": ["note_added"]}]'),
    )
    pause_when_waiting = models.BooleanField(_("pause while waiting on the customer"), default=True)
    warning_percent = models.PositiveSmallIntegerField(_("warning threshold, percent of the target"), default=80)
    priority_lane_percent = models.PositiveSmallIntegerField(
        _("VIP / core customers: percent of the response targets"), default=50)
    breach_action = models.CharField(_("on breach"), max_length=20, choices=BreachAction.choices,
                                     default=BreachAction.NOTIFY)
    breach_team = models.ForeignKey(Department, verbose_name=_("move to team"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        from kefu.sla.services import acting_policy_ids, active_policies

        # This process at once, the others within seconds (kefu.core.shortcache).
        active_policies.forget()
        acting_policy_ids.forget()

    def clean(self) -> None:
        problems = milestone_problems(self.milestones)
        if problems:
            raise ValidationError({"milestones": problems})
        if self.breach_action == self.BreachAction.REASSIGN_TEAM and self.breach_team_id is None:
            raise ValidationError({"breach_team": _("Choose the team to move breached tickets to.")})

    def conditions(self, team_ids: frozenset[int]) -> Conditions:
        return Conditions(priorities=frozenset(self.priorities), complexities=frozenset(self.complexities),
                          channels=frozenset(self.channels), tiers=frozenset(self.tiers),
                          categories=frozenset(self.categories), teams=team_ids)

    def targets(self) -> Targets:
        return Targets(
            first_response=self.first_response_minutes, update_every=self.update_every_minutes,
            resolution=self.resolution_minutes, reevaluation=self.reevaluation_minutes,
            milestones=tuple(Milestone(name=m["name"], minutes=int(m["minutes"]),
                                       starts_on=m.get("starts_on", "accepted"), met_on=tuple(m.get("met_on", ())))
                             for m in self.milestones),
        )


class TicketSla(models.Model):
    """The policy a ticket matched and the targets it got, as they were when matched."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="sla", primary_key=True)
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    policy_name = models.CharField(max_length=100, blank=True)
    targets = models.JSONField(default=dict)
    matched_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("ticket SLA")
        verbose_name_plural = _("ticket SLAs")

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.policy_name}"


class TicketClock(models.Model):
    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        UPDATE = "update", _("Customer update")
        RESOLUTION = "resolution", _("Resolution")
        MILESTONE = "milestone", _("Milestone")
        REEVALUATION = "reevaluation", _("Re-evaluation")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        WARNING = "warning", _("Warning")
        PAUSED = "paused", _("Paused")
        MET = "met", _("Met")
        BREACHED = "breached", _("Breached")
        CANCELLED = "cancelled", _("Cancelled")

    # Indexed by clock_ticket_state, which leads with it: every index is more work for the sweep's updates.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clocks", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RUNNING)
    target_seconds = models.PositiveIntegerField()
    # Not indexed: nothing looks clocks up by calendar (deleting a calendar, which clocks protect, scans once).
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    warning_percent = models.PositiveSmallIntegerField(default=80)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    # The sweep's cursor: warn_at while running, due_at once warned; null when not running.
    next_check_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining_seconds = models.FloatField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        indexes = [
            # "What is due next" is one range scan of this index, whatever the number of open tickets.
            models.Index(fields=["next_check_at"], name="clock_next_check",
                         condition=Q(next_check_at__isnull=False)),
            models.Index(fields=["ticket", "state"], name="clock_ticket_state"),
            # The "at risk" view: running clocks, least time left first.
            models.Index(fields=["due_at"], name="clock_ticking_due", condition=Q(state__in=["running", "warning"])),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} #{self.ticket_id} {self.state}"

    @property
    def label(self) -> str:
        return clock_label(self.kind, self.name)

    @property
    def overdue(self) -> bool:
        return self.due_at is not None and self.state in {*TICKING, self.State.BREACHED} and self.due_at <= now()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


# Clocks that count down (the sweep watches them), and those that may still count again (paused).
TICKING = (TicketClock.State.RUNNING, TicketClock.State.WARNING)
OPEN_STATES = (*TICKING, TicketClock.State.PAUSED)


def clock_label(kind: str, name: str = "") -> str:
    """A clock's name for people: the kind, or a milestone's (translated when it is a default one)."""
    if kind == TicketClock.Kind.MILESTONE:
        return str(MILESTONE_LABELS.get(name, name))
    try:
        return str(TicketClock.Kind(kind).label)
    except ValueError:
        return kind
