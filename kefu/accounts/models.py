from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")
    QA = "qa", _("QA reviewer")
    DEPARTMENT = "department", _("Department member")


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.QA})
"""Roles that work in the agent console."""

ALL_TICKETS_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.QA})
"""Roles that see every ticket; agents see their teams' and their own."""

WRITING_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
"""Roles that may reply to customers and change tickets (QA reads and scores only)."""


class Department(models.Model):
    """A team of agents (support) or another department that answers collaboration requests."""

    class Kind(models.TextChoices):
        SUPPORT = "support", _("Support team")
        OTHER = "other", _("Other department")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.SUPPORT)
    email = models.EmailField(_("email"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department / team")
        verbose_name_plural = _("departments / teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Everyone who signs in: staff of every role, and customers who use the portal.

    A customer's profile (kefu.customers.Customer) points here; staff have no profile.
    """

    email = models.EmailField(_("email address"), blank=True, db_index=True)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CUSTOMER, db_index=True)
    departments = models.ManyToManyField(
        Department, verbose_name=_("departments / teams"), blank=True, related_name="members"
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    last_assigned_at = models.DateTimeField(_("last given a ticket"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~models.Q(email=""), name="accounts_user_email_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_staff_member(self) -> bool:
        return self.is_active and self.role in STAFF_ROLES

    @property
    def sees_all_tickets(self) -> bool:
        return self.role in ALL_TICKETS_ROLES

    @property
    def can_write_tickets(self) -> bool:
        return self.is_active and self.role in WRITING_ROLES


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginLink(models.Model):
    """A one-time sign-in link sent by email; only the hash of its secret is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    next_path = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"sign-in link for {self.user_id}"
