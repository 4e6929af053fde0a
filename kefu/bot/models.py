"""The chatbot's memory of a conversation, and the questions it could not answer.

The hand-off itself is the chat's state (``ChatSession.State``: bot → queued → active); a conversation
records what the bot knew and how it ended, for the agent who takes over and for the reports."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now

FACT_LABELS = {"order_number": _("Order number"), "product": _("Product")}


class Conversation(models.Model):
    class Pending(models.TextChoices):
        NOTHING = "", _("Nothing")
        ORDER_NUMBER = "order_number", _("The order number")
        PRODUCT = "product", _("The product")
        CLARIFY = "clarify", _("Which of two questions")
        CONFIRM = "confirm", _("Whether the answer helped")

    class Outcome(models.TextChoices):
        OPEN = "", _("Open")
        RESOLVED = "resolved", _("Resolved by the assistant")
        HANDED_OFF = "handed_off", _("Handed to an agent")
        ABANDONED = "abandoned", _("Left without an answer")

    class HandoffReason(models.TextChoices):
        NONE = "", _("None")
        ASKED = "asked", _("The customer asked for a person")
        FAILED = "failed", _("The assistant failed twice")
        NEGATIVE = "negative", _("Negative sentiment")
        RISK = "risk", _("Escalation risk")
        VIP = "vip", _("VIP customer (policy)")
        FILE = "file", _("The customer sent a file")
        TAKEN = "taken", _("An agent took over")

    chat = models.OneToOneField("chat.ChatSession", on_delete=models.CASCADE, related_name="bot_conversation")
    intent = models.CharField(_("detected intent"), max_length=80, blank=True)  # an article's key
    intent_score = models.FloatField(null=True, blank=True)
    facts = models.JSONField(_("collected facts"), default=dict, blank=True)
    pending = models.CharField(max_length=16, choices=Pending.choices, blank=True, default=Pending.NOTHING)
    candidates = models.JSONField(default=list, blank=True)  # the two intents offered when clarifying
    failures = models.PositiveSmallIntegerField(default=0)
    answers = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True,
                               default=Outcome.OPEN)
    handoff_reason = models.CharField(_("hand-off reason"), max_length=10, choices=HandoffReason.choices,
                                      blank=True, default=HandoffReason.NONE)
    started_at = models.DateTimeField(default=now)
    last_customer_at = models.DateTimeField(null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    # When the assistant's part ended, whatever the outcome (resolved, abandoned, handed off).
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("chatbot conversation")
        verbose_name_plural = _("chatbot conversations")
        indexes = [models.Index(fields=["outcome", "started_at"], name="bot_conversation_outcome"),
                   # The analytics roll-up reads ended conversations in this order (kefu.analytics.services).
                   models.Index(fields=["ended_at", "id"], name="bot_conversation_ended",
                                condition=models.Q(ended_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.chat_id}: {self.outcome or 'open'}"

    def fact_items(self) -> list[tuple[str, str]]:
        """The facts the bot collected, each with its name in words (the locale it keeps for itself left out)."""
        return [(str(FACT_LABELS.get(name, name)), str(value)) for name, value in self.facts.items()
                if name != "locale"]


class UnansweredQuestion(models.Model):
    """A question the bot could not answer: grouped in the console so the knowledge base grows where needed."""

    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="unanswered")
    text = models.CharField(_("question"), max_length=500)
    locale = models.CharField(max_length=8, blank=True)
    best_guess = models.CharField(max_length=80, blank=True)
    score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        verbose_name = _("unanswered question")
        verbose_name_plural = _("unanswered questions")

    def __str__(self) -> str:
        return self.text[:60]
