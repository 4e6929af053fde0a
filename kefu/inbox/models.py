from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class Mailbox(models.Model):
    """A support address: polled over IMAP (when a server is set) and mapped to the team its tickets go to."""

    class Security(models.TextChoices):
        SSL = "ssl", _("SSL/TLS")
        STARTTLS = "starttls", _("STARTTLS")
        NONE = "none", _("None (local servers only)")

    class AfterFetch(models.TextChoices):
        DELETE = "delete", _("Delete from the server")
        SEEN = "seen", _("Mark as read and leave it")

    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("address"), blank=True)
    team = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("team"))
    imap_host = models.CharField(_("IMAP server"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("security"), max_length=10, choices=Security.choices,
                                     default=Security.SSL)
    imap_username = models.CharField(_("user name"), max_length=255, blank=True)
    imap_password = models.CharField(_("password"), max_length=255, blank=True)
    imap_folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    after_fetch = models.CharField(_("after fetching"), max_length=10, choices=AfterFetch.choices,
                                   default=AfterFetch.SEEN)
    active = models.BooleanField(_("active"), default=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.name


class InboundEmail(models.Model):
    """One received message, its raw bytes stored (and committed) before anything else happens to it.

    Processing runs from this copy: a crash, a bug or a message nobody can read loses nothing; the
    state says what became of it.
    """

    class State(models.TextChoices):
        RECEIVED = "received", _("Waiting to be processed")
        PROCESSED = "processed", _("Processed")
        HELD = "held", _("Held for review")
        QUARANTINED = "quarantined", _("Quarantined")
        IGNORED = "ignored", _("Ignored (sent by a machine)")
        REJECTED = "rejected", _("Rejected by an agent")

    class Source(models.TextChoices):
        IMAP = "imap", _("IMAP")
        HTTP = "http", _("HTTP (raw message)")
        IMPORT = "import", _("Import")

    dedupe_key = models.CharField(max_length=300, unique=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    raw = models.BinaryField(_("original message"))
    size = models.PositiveIntegerField(_("size"))
    sender = models.CharField(_("sender"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.RECEIVED)
    reason = models.TextField(_("reason"), blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=now)
    received_at = models.DateTimeField(_("received"), default=now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    ticket_id = models.BigIntegerField(_("ticket"), null=True, blank=True)
    ticket_message_id = models.BigIntegerField(null=True, blank=True)
    authentication = models.JSONField(_("sender authentication"), default=dict, blank=True)

    class Meta:
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        indexes = [
            models.Index(fields=["message_id"], name="inbound_message_id"),
            models.Index(fields=["state", "next_attempt_at"], name="inbound_state_due"),
            models.Index(fields=["ticket_id"], name="inbound_ticket"),
            models.Index(fields=["ticket_message_id"], name="inbound_ticket_message"),
        ]

    def __str__(self) -> str:
        return f"{self.sender or '?'}: {self.subject or self.message_id or self.pk}"


def _new_channel_secret() -> str:
    from kefu.core.ids import new_secret

    return new_secret(24)


class ChannelEndpoint(models.Model):
    """A messaging channel connected by webhook: SMS gateway, WeChat Official Account or any other app.

    Inbound messages arrive at /hooks/<slug>/ (signed with `secret`); replies go out through the
    connector of its kind to `outbound_url`.
    """

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Other app (signed webhook)")
        SMS = "sms", _("SMS gateway")
        WECHAT = "wechat", _("WeChat Official Account")
        CTI = "cti", _("Phone system (CTI call events)")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    slug = models.SlugField(_("URL name"), max_length=50, unique=True,
                            help_text=_("Inbound messages are posted to /hooks/<URL name>/."))
    secret = models.CharField(_("signing secret"), max_length=100, default=_new_channel_secret,
                              help_text=_("Webhook and SMS: the HMAC key of X-Kefu-Signature. WeChat: the Token "
                                          "set in the Official Account's server settings."))
    team = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("team"))
    outbound_url = models.URLField(_("outbound URL"), max_length=500, blank=True)
    outbound_token = models.CharField(_("outbound credential"), max_length=255, blank=True,
                                      help_text=_("SMS: the gateway's API key. WeChat: the AppSecret."))
    app_id = models.CharField(_("app ID"), max_length=100, blank=True, help_text=_("WeChat: the AppID."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("messaging channel")
        verbose_name_plural = _("messaging channels")

    def __str__(self) -> str:
        return self.name


class InboundEvent(models.Model):
    """One message received on a messaging channel, kept once per external id (retries are harmless)."""

    endpoint = models.ForeignKey(ChannelEndpoint, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(_("external id"), max_length=128)
    sender = models.CharField(_("sender"), max_length=255)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(_("received"), default=now)
    ticket_id = models.BigIntegerField(_("ticket"), null=True, blank=True)
    ticket_message_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbound channel message")
        verbose_name_plural = _("inbound channel messages")
        constraints = [models.UniqueConstraint(fields=["endpoint", "external_id"], name="inbound_event_once")]

    def __str__(self) -> str:
        return f"{self.endpoint_id}:{self.external_id}"
