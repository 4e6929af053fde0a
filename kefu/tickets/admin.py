from django.contrib import admin

from kefu.core.admin import ReadOnlyAdmin
from kefu.tickets.models import Category, Tag, TicketEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "name_en", "default_priority", "active", "position")
    list_editable = ("active", "position")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    """The timeline is append-only and is changed only by the ticket services."""

    list_display = ("ticket", "type", "actor", "public", "at")
    list_filter = ("type", "public")
    raw_id_fields = ("ticket", "actor")
