from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kefu.core.admin import ReadOnlyAdmin
from kefu.notifications.models import TEMPLATE_VARIABLES, NotificationTemplate, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "active")
    list_editable = ("active",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # switched off instead, so that the delivery log keeps its endpoint


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log."""

    list_display = ("created_at", "endpoint", "event_type", "ticket_id", "state", "attempts", "last_status",
                    "delivered_at")
    list_filter = ("state", "event_type", "endpoint")
    search_fields = ("key",)


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    list_display = ("template", "language", "subject", "active")
    list_filter = ("template", "language", "active")
    readonly_fields = ("variables",)
    fields = ("template", "language", "variables", "subject", "body", "active")

    @admin.display(description=_("variables"))
    def variables(self, obj: NotificationTemplate) -> str:
        return ", ".join(f"{{{{ {name} }}}}" for name in TEMPLATE_VARIABLES.get(obj.template, ())) or "—"
