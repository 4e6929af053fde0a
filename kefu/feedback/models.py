"""Satisfaction surveys after closure (满意度回访), the customers' answers, the supervisors' follow-up of bad
scores, and the customers who joined the service experience panel."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class SurveyQuestion(models.Model):
    """One question of the survey. A question that has answers is retired (inactive), never deleted, so
    old answers keep their meaning."""

    class Kind(models.TextChoices):
        SCORE = "score", _("Score 1–5")
        NPS = "nps", _("Recommendation 0–10 (NPS)")
        COMMENT = "comment", _("Comment")

    key = models.SlugField(_("key"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SCORE)
    text_en = models.CharField(_("question (English)"), max_length=300)
    text_zh = models.CharField(_("question (Chinese)"), max_length=300)
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.key

    def text(self, language: str | None = None) -> str:
        return self.text_zh if (language or get_language() or "zh-hans").startswith("zh") else self.text_en

    @property
    def choices(self) -> list[int]:
        if self.kind == self.Kind.SCORE:
            return list(range(1, 6))
        if self.kind == self.Kind.NPS:
            return list(range(11))
        return []


class Survey(models.Model):
    """The survey of one closed ticket: sent (or skipped, with the reason), answered once, or expired.

    Only the SHA-256 of each link's secret is kept (the first link and the reminder's)."""

    class State(models.TextChoices):
        SENT = "sent", _("Sent, awaiting the answer")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired unanswered")
        SKIPPED = "skipped", _("Not sent")

    class SkipReason(models.TextChoices):
        RECENTLY_SURVEYED = "recent", _("The customer was surveyed recently")
        NO_CHANNEL = "no_channel", _("No way to reach the customer")

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="survey")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="surveys")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SENT)
    skip_reason = models.CharField(_("why not sent"), max_length=12, choices=SkipReason.choices, blank=True)
    token_digest = models.CharField(max_length=64, unique=True)
    reminder_digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    language = models.CharField(_("language"), max_length=10)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("created"), default=now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    late = models.BooleanField(_("sent late"), default=False)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    bad = models.BooleanField(_("bad score"), default=False)
    thanked = models.BooleanField(_("thanked"), default=False)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [
            models.Index(fields=["customer", "sent_at"], name="survey_customer_sent"),
            models.Index(fields=["state", "sent_at"], name="survey_state_sent"),
            models.Index(fields=["answered_at"], name="survey_answered",
                         condition=Q(answered_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"survey of #{self.ticket_id}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.SENT and self.expires_at is not None and self.expires_at > now()


class SurveyAnswer(models.Model):
    """One answer: a score (1–5 or 0–10) or a text."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="answers")
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        constraints = [models.UniqueConstraint(fields=["survey", "question"], name="survey_answer_once")]

    def __str__(self) -> str:
        return f"{self.question_id}={self.score if self.score is not None else self.text[:20]}"


class FollowUpTask(models.Model):
    """A supervisor's follow-up of a bad score: first contact, then the one-to-one callback, then the
    outcome (apology, remedy, compensation, root cause)."""

    class State(models.TextChoices):
        OPEN = "open", _("Awaiting first contact")
        CONTACTED = "contacted", _("Contacted")
        CLOSED = "closed", _("Closed")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="followups")
    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="followup")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="followups", verbose_name=_("supervisor"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(_("opened"), default=now)
    contact_due_at = models.DateTimeField(_("contact due"))
    callback_due_at = models.DateTimeField(_("callback due"))
    contacted_at = models.DateTimeField(_("contacted"), null=True, blank=True)
    callback_at = models.DateTimeField(_("called back"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    contact_overdue_at = models.DateTimeField(null=True, blank=True)
    callback_overdue_at = models.DateTimeField(null=True, blank=True)
    apology = models.BooleanField(_("apologised"), default=False)
    remedy = models.TextField(_("remedy"), blank=True)
    compensation = models.CharField(_("compensation"), max_length=200, blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        indexes = [models.Index(fields=["state", "contact_due_at"], name="followup_state_due")]

    def __str__(self) -> str:
        return f"follow-up of #{self.ticket_id}"

    @property
    def next_due_at(self) -> dt.datetime:
        return self.contact_due_at if self.state == self.State.OPEN else self.callback_due_at

    @property
    def is_overdue(self) -> bool:
        if self.state == self.State.OPEN:
            return self.contact_due_at <= now()
        return self.state == self.State.CONTACTED and self.callback_at is None and self.callback_due_at <= now()


class PanelMember(models.Model):
    """A customer who accepted the invitation to the service experience panel (体验官) after a top score."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="panel_membership")
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    language = models.CharField(_("language"), max_length=10)
    joined_at = models.DateTimeField(_("joined"), default=now)

    class Meta:
        verbose_name = _("service experience panel member")
        verbose_name_plural = _("service experience panel members")
        ordering = ["-joined_at"]

    def __str__(self) -> str:
        return str(self.customer_id)
