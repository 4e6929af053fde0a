from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class Tier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    VIP = "vip", _("VIP")
    CORE = "core", _("Core customer")


class Channel(models.TextChoices):
    """Where a contact came from; also the kind of a customer identity."""

    WEB = "web", _("Web form")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Live chat")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    API = "api", _("API")
    WEBHOOK = "webhook", _("Other app (webhook)")


class Customer(models.Model):
    """A person who contacts us, one record across every channel they use."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_profile"
    )
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    account_ref = models.CharField(_("account number"), max_length=64, blank=True, db_index=True)
    company = models.CharField(_("company"), max_length=150, blank=True)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.STANDARD, db_index=True)
    tier_set_by_hand = models.BooleanField(
        _("tier set by hand"), default=False, help_text=_("A hand-set tier is not changed by the spend rule.")
    )
    annual_spend = models.DecimalField(_("annual spend"), max_digits=14, decimal_places=2, default=Decimal(0))
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_priority(self) -> bool:
        return self.tier in {Tier.VIP, Tier.CORE}


class CustomerIdentity(models.Model):
    """How we recognise the customer on one channel: an email address, a phone number, a WeChat id…"""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    value = models.CharField(_("value"), max_length=255)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("customer identity")
        verbose_name_plural = _("customer identities")
        constraints = [
            models.UniqueConstraint(fields=["channel", "value"], name="customers_identity_unique_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.value}"


class OrderReference(models.Model):
    """An order number the customer holds; used to find and to verify them."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(_("order number"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    placed_at = models.DateTimeField(_("placed"), null=True, blank=True)

    class Meta:
        verbose_name = _("order reference")
        verbose_name_plural = _("order references")

    def __str__(self) -> str:
        return self.number
