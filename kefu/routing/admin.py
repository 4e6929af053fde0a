from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kefu.routing.models import Queue, QueueAlert, RoutingEntry, RoutingRule


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "strategy", "target_wait_minutes", "lane_target_wait_minutes",
                    "alert_max_waiting", "position", "active")
    list_editable = ("position", "active")
    list_filter = ("team", "strategy", "active")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "queue", "position", "active")
    list_editable = ("position", "active")
    list_filter = ("queue", "active")
    fieldsets = (
        (None, {"fields": ("name", "position", "active")}),
        (_("Conditions"), {"fields": ("categories", "priorities", "channels", "languages", "tiers", "tags",
                                   "keywords")}),
        (_("Destination"), {"fields": ("queue", "required_skills")}),
    )


@admin.register(QueueAlert)
class QueueAlertAdmin(admin.ModelAdmin):
    list_display = ("queue", "kind", "opened_at", "closed_at", "waiting", "longest_wait_s")
    list_filter = ("queue", "kind")
    readonly_fields = ("queue", "kind", "opened_at", "closed_at", "waiting", "longest_wait_s")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are opened by the routing engine, never by hand


@admin.register(RoutingEntry)
class RoutingEntryAdmin(admin.ModelAdmin):
    list_display = ("ticket", "queue", "state", "lane", "priority", "tier", "due_at", "assigned_to")
    list_filter = ("queue", "state", "lane")
    readonly_fields = [f.name for f in RoutingEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # entries are made when a ticket is queued, never by hand
