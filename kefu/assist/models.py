"""Agent assist: reply templates (话术) with variables, locales and A/B variants, and each use of one on a
ticket (the outcomes of the tickets they were used on are what the variants are compared by)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class ReplyTemplate(models.Model):
    class Locale(models.TextChoices):
        ZH_HANS = "zh-hans", _("Simplified Chinese")
        EN = "en", _("English")

    name = models.CharField(_("name"), max_length=100)
    locale = models.CharField(_("language"), max_length=8, choices=Locale.choices, default=Locale.ZH_HANS)
    body = models.TextField(_("text"), help_text=_(
        "Variables: {customer_name}, {ticket_number}, {agent_name}, {order_number}, {tracking_link}"))
    category = models.ForeignKey("tickets.Category", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("category"))
    keywords = models.CharField(_("keywords"), max_length=300, blank=True,
                                help_text=_("Words that make it a suggestion, separated by spaces or commas."))
    # Variants of one experiment share its name; each is shown in turn and the outcomes are compared.
    experiment = models.CharField(_("A/B experiment"), max_length=100, blank=True)
    variant = models.CharField(_("variant"), max_length=10, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["name", "variant"]
        indexes = [models.Index(fields=["experiment", "variant"], name="template_experiment")]

    def __str__(self) -> str:
        return f"{self.name} ({self.variant})" if self.variant else self.name


class TemplateUse(models.Model):
    """An agent inserted the template into a reply on this ticket."""

    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="uses")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    used_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "ticket"], name="template_use_once")]

    def __str__(self) -> str:
        return f"{self.template_id} on {self.ticket_id}"
