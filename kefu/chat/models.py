from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now
from kefu.core.ids import new_tracking_token


class ChatSession(models.Model):
    """One live conversation. The visitor holds `token` (the bearer secret of their side of the chat)."""

    class State(models.TextChoices):
        # bot → queued is the hand-off ("human requested"); queued → active is the human taking over.
        BOT = "bot", _("With the assistant")
        QUEUED = "queued", _("Waiting for an agent")
        ACTIVE = "active", _("With an agent")
        ENDED = "ended", _("Ended")
        TICKET = "ticket", _("Continued as a ticket")

    token = models.CharField(max_length=64, unique=True, default=new_tracking_token, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="chats")
    visitor_name = models.CharField(_("name"), max_length=150)
    visitor_phone = models.CharField(_("phone"), max_length=32, blank=True)
    visitor_email = models.EmailField(_("email"), blank=True)
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_seq = models.PositiveIntegerField(default=0)
    customer_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(_("started"), default=now)
    queued_at = models.DateTimeField(_("waiting for an agent since"), default=now)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    customer_left_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        indexes = [models.Index(fields=["state", "started_at"], name="chat_state_started"),
                   models.Index(fields=["state", "queued_at"], name="chat_state_queued"),
                   # The analytics roll-up reads ended chats in this order (kefu.analytics.services).
                   models.Index(fields=["ended_at", "id"], name="chat_ended",
                                condition=models.Q(ended_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.visitor_name} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state in {self.State.BOT, self.State.QUEUED, self.State.ACTIVE}


class ChatMessage(models.Model):
    class Author(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")
        BOT = "bot", _("Assistant")

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages", db_index=False)
    seq = models.PositiveIntegerField()
    author_kind = models.CharField(max_length=10, choices=Author.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    body = models.TextField(blank=True)
    file = models.FileField(upload_to="chat/%Y/%m/", max_length=200, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="chat_message_seq")]
        indexes = [models.Index(fields=["session", "client_id"], name="chat_message_client")]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq}"
