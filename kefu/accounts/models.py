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
    calendar = models.ForeignKey(
        "sla.BusinessCalendar", verbose_name=_("working hours"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        help_text=_("Collaboration requests' clocks run on these hours; empty for the default office hours."),
    )

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


class Skill(models.Model):
    """Something an agent can be good at (a product, a language pair, refunds); routing rules require them."""

    slug = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentProfile(models.Model):
    """What routing knows about a member of staff: presence, capacity, languages, schedule, current load.

    ``open_tickets`` and ``active_chats`` are counts kept in step by every assignment and status change
    (and recounted by the routing sweep): reading them is what keeps an assignment decision under a
    millisecond of database work with a thousand agents.
    """

    user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE, related_name="agent_profile")
    presence = models.CharField(_("presence"), max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(_("presence since"), default=now)
    presence_auto = models.BooleanField(default=False)  # away (or offline) because idle, not by choice
    last_seen_at = models.DateTimeField(_("last active"), null=True, blank=True)
    max_tickets = models.PositiveSmallIntegerField(_("open tickets at most"), default=25)
    max_chats = models.PositiveSmallIntegerField(_("concurrent chats at most"), default=5)
    languages = models.JSONField(_("languages"), default=list, blank=True,
                                 help_text=_('e.g. ["zh", "en"]; empty for any language.'))
    calendar = models.ForeignKey(
        "sla.BusinessCalendar", verbose_name=_("working schedule"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        help_text=_("Routed work only within these working hours; empty for whenever online."),
    )
    open_tickets = models.PositiveIntegerField(_("open tickets"), default=0)
    active_chats = models.PositiveIntegerField(_("active chats"), default=0)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")
        indexes = [models.Index(fields=["presence"], name="agent_presence")]

    def __str__(self) -> str:
        return str(self.user)


class AgentSkill(models.Model):
    profile = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, verbose_name=_("skill"), on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"), default=3, help_text=_("1 (basic) to 5 (expert)."))

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        constraints = [models.UniqueConstraint(fields=["profile", "skill"], name="agent_skill_unique")]

    def __str__(self) -> str:
        return f"{self.skill} {self.level}"
