from django.contrib import admin

from kefu.core.admin import ReadOnlyAdmin
from kefu.sla.models import BusinessCalendar, CalendarException, SlaPolicy, TicketClock


class CalendarExceptionInline(admin.TabularInline):
    model = CalendarException
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "china_holidays", "updated_at")
    inlines = [CalendarExceptionInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "active", "first_response_minutes", "update_every_minutes",
                    "resolution_minutes", "calendar", "breach_action")
    list_editable = ("position", "active")
    filter_horizontal = ("teams",)


@admin.register(TicketClock)
class TicketClockAdmin(ReadOnlyAdmin):
    """Clocks are moved only by the SLA services."""

    list_display = ("ticket", "kind", "name", "state", "due_at", "met_at", "breached_at")
    list_filter = ("kind", "state")
    raw_id_fields = ("ticket",)
