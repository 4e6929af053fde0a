"""Cross-department collaboration (跨部门协同): requests from a ticket's owner to another department, with
their own clocks, the conversation inside each request, and coordination meetings with their plans."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    WARNING = "warning", _("Due soon")
    MET = "met", _("Met")
    BREACHED = "breached", _("Overdue")
    STOPPED = "stopped", _("Stopped")


OPEN_CLOCK_STATES = (ClockState.RUNNING, ClockState.WARNING)


class CollaborationRequest(models.Model):
    """Work asked of another department for one ticket.

    The department sees the ticket's number and subject and the ``context`` the owner chose to share,
    never the customer's contact details or messages. Three clocks: the raise (within an hour of the
    ticket's acceptance, judged once when raised), the response (accepting or asking back, on the
    department's calendar) and the resolution (delivery by the agreed ``due_at``).
    ``next_check_at`` is the earliest warning or due time still ahead, so the sweep is one index scan.
    """

    class State(models.TextChoices):
        RAISED = "raised", _("Waiting for the department")
        ACCEPTED = "accepted", _("Accepted")
        ASKED_BACK = "asked_back", _("Question to the owner")
        DELIVERED = "delivered", _("Delivered")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="collaboration_requests")
    department = models.ForeignKey("accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="collaboration_requests")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    need = models.TextField(_("what is needed"))
    deliverable = models.TextField(_("deliverable"))
    acceptance_standard = models.TextField(_("acceptance standard"))
    context = models.TextField(_("context shared with the department"), blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RAISED)
    raised_at = models.DateTimeField(_("raised"), default=now)

    raise_due_at = models.DateTimeField(null=True, blank=True)
    raised_in_time = models.BooleanField(null=True)

    response_due_at = models.DateTimeField(_("response due"))
    response_warn_at = models.DateTimeField(null=True, blank=True)
    response_state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    due_at = models.DateTimeField(_("due"))
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    delivery = models.TextField(_("delivery"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("collaboration request")
        verbose_name_plural = _("collaboration requests")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["next_check_at"], name="collab_next_check"),
            models.Index(fields=["department", "-raised_at"], name="collab_department_raised"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} → {self.department_id}"

    @property
    def is_open(self) -> bool:
        return self.state not in (self.State.DONE, self.State.CANCELLED)


class CollaborationNote(models.Model):
    """One message inside a request: a question, an answer, a delivery, a rejection's reason."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        ANSWER = "answer", _("Answer")
        DELIVERY = "delivery", _("Delivery")
        REJECTION = "rejection", _("Delivery rejected")
        CANCELLATION = "cancellation", _("Cancelled")

    request = models.ForeignKey(CollaborationRequest, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.request_id}"


class CoordinationMeeting(models.Model):
    """A coordination meeting held about a ticket; its plan with a timetable is due soon after."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="coordination_meetings")
    held_at = models.DateTimeField(_("held"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    other_participants = models.CharField(_("other participants"), max_length=500, blank=True)
    decisions = models.TextField(_("decisions"))
    plan_due_at = models.DateTimeField(_("plan due"))
    plan_warn_at = models.DateTimeField(null=True, blank=True)
    plan_state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    plan_ready_at = models.DateTimeField(null=True, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("coordination meeting")
        verbose_name_plural = _("coordination meetings")
        ordering = ["-held_at", "-id"]
        indexes = [models.Index(fields=["next_check_at"], name="meeting_next_check")]

    def __str__(self) -> str:
        return f"meeting {self.pk} on {self.ticket_id}"


class PlanItem(models.Model):
    """One line of a meeting's plan: what is done, by whom, by when."""

    meeting = models.ForeignKey(CoordinationMeeting, on_delete=models.CASCADE, related_name="plan_items")
    what = models.CharField(_("what"), max_length=300)
    who = models.CharField(_("who"), max_length=150)
    due_at = models.DateTimeField(_("when"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["due_at", "position", "id"]

    def __str__(self) -> str:
        return self.what
