from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department
from kefu.core.clock import now
from kefu.core.ids import new_tracking_token
from kefu.customers.models import Channel, Customer
from kefu.tickets.fivew1h import FIELDS as FIVE_W_ONE_H_FIELDS
from kefu.tickets.fivew1h import completeness
from kefu.tickets.states import Status


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Complexity(models.TextChoices):
    SIMPLE = "simple", _("Simple")
    COMPLEX = "complex", _("Complex")
    DIFFICULT = "difficult", _("Difficult")


STATUS_LABELS = {
    Status.NEW: _("New"),
    Status.OPEN: _("Open"),
    Status.WAITING_CUSTOMER: _("Waiting on customer"),
    Status.WAITING_INTERNAL: _("Waiting on internal"),
    Status.RESOLVED: _("Resolved — awaiting confirmation"),
    Status.CLOSED: _("Closed"),
    Status.CANCELLED: _("Cancelled"),
    Status.MERGED: _("Merged"),
}
STATUS_CHOICES = [(status.value, label) for status, label in STATUS_LABELS.items()]


class Category(models.Model):
    """The configurable taxonomy (consultation, service request, complaint, fault, emergency, …)."""

    slug = models.SlugField(_("key"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    default_priority = models.CharField(
        _("default priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.label()

    def label(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        lang = language or get_language() or "zh-hans"
        return self.name_zh if lang.startswith("zh") else self.name_en


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """One customer problem across all its messages and channels.

    The human-readable number is the primary key (docs/decisions/0002-ticket-numbers.md); the
    tracking token is the bearer secret of the customer's tracking link.
    """

    # Unique by a constraint (Meta), not `unique=True`: on PostgreSQL that would add a second index for LIKE
    # searches, and a tracking token is only ever looked up whole.
    tracking_token = models.CharField(max_length=64, default=new_tracking_token, editable=False)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # The keys below lead a composite index in Meta, which serves every lookup a single-column index would:
    # no index of their own (every ticket written updates each index).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    language = models.CharField(_("language"), max_length=10, blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    complexity = models.CharField(
        _("complexity"), max_length=10, choices=Complexity.choices, default=Complexity.SIMPLE
    )
    status = models.CharField(_("status"), max_length=20, choices=STATUS_CHOICES, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_tickets",
        db_index=False,
    )
    team = models.ForeignKey(
        Department, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="tickets",
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="tickets")

    # 5W1H — what the agent needs to act without asking again.
    what = models.TextField(_("what happened"), blank=True)
    when = models.CharField(_("when it happened"), max_length=200, blank=True)
    where = models.CharField(_("where — which product or scene"), max_length=200, blank=True)
    who = models.CharField(_("who / how many are affected"), max_length=200, blank=True)
    how = models.TextField(_("how — steps or error text"), blank=True)
    expected = models.TextField(_("expected outcome"), blank=True)

    identity_verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    identity_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    identity_verified_method = models.CharField(_("verified by"), max_length=16, blank=True)

    fix_verified_at = models.DateTimeField(_("fix verified"), null=True, blank=True)
    fix_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    chosen_solution = models.ForeignKey(
        "SolutionOption", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_tickets", db_index=False
    )

    created_at = models.DateTimeField(_("created"), default=now)
    updated_at = models.DateTimeField(_("updated"), default=now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_count = models.PositiveIntegerField(_("times reopened"), default=0)
    reevaluation_due_at = models.DateTimeField(_("re-evaluation due"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # The machine's reading of the opening message (kefu.assist.triage): each judgement's value, confidence
    # and reasons, shown to the agent; the risk level on its own for filters and reports.
    triage = models.JSONField(default=dict, blank=True, editable=False)
    escalation_risk = models.CharField(_("escalation risk"), max_length=8, blank=True, default="")

    # Not stored: set by services.open_ticket on the ticket it returns, so that a channel can link its own
    # record of the contact (an email, a chat event) to the message the ticket opened with.
    opening_message: Message | None = None

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # The list pages filter by one of these and page by id, newest first.
        indexes = [
            models.Index(fields=["status", "-id"], name="ticket_status_id"),
            models.Index(fields=["owner", "status", "-id"], name="ticket_owner_status_id"),
            models.Index(fields=["team", "status", "-id"], name="ticket_team_status_id"),
            models.Index(fields=["priority", "-id"], name="ticket_priority_id"),
            models.Index(fields=["category", "-id"], name="ticket_category_id"),
            models.Index(fields=["channel", "-id"], name="ticket_channel_id"),
            models.Index(fields=["customer", "-id"], name="ticket_customer_id"),
            models.Index(fields=["created_at"], name="ticket_created_at"),
            models.Index(fields=["updated_at"], name="ticket_updated_at"),
            # Set late in a ticket's life or never: a new ticket adds no entry to these (each insert into an
            # index is work while SQLite's writers wait their turn), lookups by a value still use them.
            models.Index(fields=["identity_verified_by"], name="ticket_identity_verified_by",
                         condition=Q(identity_verified_by__isnull=False)),
            models.Index(fields=["fix_verified_by"], name="ticket_fix_verified_by",
                         condition=Q(fix_verified_by__isnull=False)),
            models.Index(fields=["chosen_solution"], name="ticket_chosen_solution",
                         condition=Q(chosen_solution__isnull=False)),
            models.Index(fields=["merged_into"], name="ticket_merged_into", condition=Q(merged_into__isnull=False)),
            # Surveys go out and QA samples are drawn by the time of closure.
            models.Index(fields=["closed_at"], name="ticket_closed_at", condition=Q(closed_at__isnull=False)),
        ]
        constraints = [models.UniqueConstraint(fields=["tracking_token"], name="ticket_tracking_token_unique")]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return str(self.pk)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[Status(self.status)])

    @property
    def five_w_one_h(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FIVE_W_ONE_H_FIELDS}

    @property
    def five_w_one_h_completeness(self) -> float:
        return completeness(self.five_w_one_h)

    @property
    def identity_verified(self) -> bool:
        return self.identity_verified_at is not None

    @property
    def fix_verified(self) -> bool:
        return self.fix_verified_at is not None


class Message(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer message")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    # Indexed by message_ticket_created, which leads with it.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML (sanitised)"), blank=True)
    created_at = models.DateTimeField(_("sent"), default=now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_created")]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is random: the original name is only metadata, never a path.
    return f"attachments/{instance.sha256[:2]}/{new_tracking_token()}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class SolutionOption(models.Model):
    """One of the 1–3 proposals the customer chooses between; ``round`` groups one proposal."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="solutions")
    round = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField()
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    tradeoffs = models.TextField(_("trade-offs"), blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)
    chosen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("solution option")
        verbose_name_plural = _("solution options")
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "round", "position"], name="solution_unique_position")
        ]

    def __str__(self) -> str:
        return self.title


class TicketEvent(models.Model):
    """The append-only timeline: audit trail, customer-facing history and analytics source."""

    # No constraint in the database (decision 0010): its check locked each ticket's row at commit, which
    # cost the SLA sweep a quarter of its time. Only the services write events, with ids they just read.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False,
                               db_constraint=False)
    type = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    payload = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=False)
    at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [
            models.Index(fields=["ticket", "at"], name="event_ticket_at"),
            models.Index(fields=["type", "at"], name="event_type_at"),
            # The system's events (the SLA sweep writes thousands at a time) have no actor and no entry here.
            models.Index(fields=["actor"], name="event_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.type} on #{self.ticket_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("ticket events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("ticket events are append-only")


class TicketSearchDocument(models.Model):
    """The tokenized text of a ticket (see kefu.core.textsearch), indexed by FTS5 or a GIN tsvector."""

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="+")
    tokens = models.TextField()

    def __str__(self) -> str:
        return f"search document of #{self.ticket_id}"
