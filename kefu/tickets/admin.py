from django.contrib import admin

from kefu.tickets.models import Category, Tag, TicketEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "name_en", "default_priority", "active", "position")
    list_editable = ("active", "position")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    """Read-only: the timeline is append-only and is changed only by the ticket services."""

    list_display = ("ticket", "type", "actor", "public", "at")
    list_filter = ("type", "public")
    raw_id_fields = ("ticket", "actor")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
