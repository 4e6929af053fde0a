"""Quality assurance (质检): the daily sample of closed tickets, scorecards with weighted criteria,
reviews (with calibration reviews by a second reviewer), comments on messages, and rework tasks."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department
from kefu.core.clock import now
from kefu.tickets.models import Message, Ticket

MAX_SCORE = 5


class SampleReason(models.TextChoices):
    BAD_SCORE = "bad_score", _("Bad satisfaction score")
    BREACHED = "breached", _("Service level breached")
    REOPENED = "reopened", _("Reopened")
    ESCALATED = "escalated", _("Escalated")
    RANDOM = "random", _("Random sample")


class SamplingRun(models.Model):
    """One day's sampling, done once (the unique day makes a second scheduler's run a no-op)."""

    day = models.DateField(_("day"), unique=True)
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4)
    closed = models.PositiveIntegerField(_("closed tickets"), default=0)
    sampled = models.PositiveIntegerField(_("sampled"), default=0)
    at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("sampling run")
        verbose_name_plural = _("sampling runs")
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)


class QaSample(models.Model):
    """A ticket chosen for review; a ticket is sampled at most once."""

    day = models.DateField(_("day"), db_index=True)
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="qa_sample")
    reason = models.CharField(_("reason"), max_length=16, choices=SampleReason.choices)
    reasons = models.JSONField(default=list, blank=True)
    """Every mandatory reason that applied, in precedence order (``reason`` is the first)."""
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    channel = models.CharField(_("channel"), max_length=16)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("QA sample")
        verbose_name_plural = _("QA samples")

    def __str__(self) -> str:
        return f"{self.day} #{self.ticket_id}"

    def reason_labels(self) -> list[str]:
        labels = dict(SampleReason.choices)
        return [str(labels.get(r, r)) for r in (self.reasons or [self.reason])]


class Scorecard(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=80,
                                                 validators=[MinValueValidator(0), MaxValueValidator(100)])
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(_("key"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1,
                                              validators=[MinValueValidator(0), MaxValueValidator(100)])
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    critical = models.BooleanField(_("critical (a zero fails the review)"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "key"], name="quality_criterion_key_unique")]

    def __str__(self) -> str:
        return self.label()

    def label(self, language: str | None = None) -> str:
        return self.name_zh if (language or get_language() or "zh-hans").startswith("zh") else self.name_en


class QaReview(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="qa_reviews")
    sample = models.ForeignKey(QaSample, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qa_reviews_given",
                                 verbose_name=_("reviewer"))
    # Whose work is reviewed: the ticket's owner and team when the review began (pass rates count by them).
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="qa_reviews_received", verbose_name=_("agent"))
    team = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("team"))
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="reviews")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    summary = models.TextField(_("summary"), blank=True)
    total = models.DecimalField(_("total (%)"), max_digits=5, decimal_places=1, null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    calibration_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="calibrations", verbose_name=_("calibration of"))
    created_at = models.DateTimeField(default=now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("QA review")
        verbose_name_plural = _("QA reviews")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "reviewer"], name="quality_review_once_per_reviewer"),
            # One primary review per ticket; every other is a calibration of it.
            models.UniqueConstraint(fields=["ticket"], condition=Q(calibration_of__isnull=True),
                                    name="quality_review_one_primary"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} by {self.reviewer_id}"

    @property
    def is_calibration(self) -> bool:
        return self.calibration_of_id is not None

    @property
    def is_submitted(self) -> bool:
        return self.state == self.State.SUBMITTED


class CriterionScore(models.Model):
    """A criterion's score (0–5), or not applicable (score None)."""

    review = models.ForeignKey(QaReview, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(null=True, blank=True,
                                             validators=[MinValueValidator(0), MaxValueValidator(MAX_SCORE)])
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="quality_score_once"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__lte=MAX_SCORE),
                                   name="quality_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}: {self.score}"


class MessageComment(models.Model):
    review = models.ForeignKey(QaReview, on_delete=models.CASCADE, related_name="message_comments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("comment"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "message"], name="quality_comment_once")]

    def __str__(self) -> str:
        return f"{self.review_id}/{self.message_id}"


class ReworkTask(models.Model):
    """After a failed review the ticket's agent handles it again and says what they did."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    review = models.OneToOneField(QaReview, on_delete=models.CASCADE, related_name="rework")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="rework_tasks")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="rework_tasks", verbose_name=_("agent"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    due_at = models.DateTimeField(_("due"))
    note = models.TextField(_("what was done"), blank=True)
    created_at = models.DateTimeField(default=now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        verbose_name = _("rework task")
        verbose_name_plural = _("rework tasks")
        indexes = [models.Index(fields=["agent", "state"], name="quality_rework_agent_state")]

    def __str__(self) -> str:
        return f"rework #{self.ticket_id}"

    @property
    def overdue(self) -> bool:
        return self.state == self.State.OPEN and self.due_at < now()
