from django.contrib import admin

from kefu.approvals.models import AuthorityLimit, Decision, DecisionKind


@admin.register(DecisionKind)
class DecisionKindAdmin(admin.ModelAdmin):
    list_display = ("key", "name_zh", "name_en", "active", "position")
    list_editable = ("active", "position")


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(admin.ModelAdmin):
    """Prefer the console's editor (console/authority/): it writes an audit row for each change."""

    list_display = ("kind", "role", "max_amount", "updated_at")
    list_filter = ("role",)


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    """Read-only: decisions are evidence, settled through the console's approvals page."""

    list_display = ("ticket", "kind", "amount", "currency", "state", "requested_by", "requested_at", "decided_by",
                    "decided_at")
    list_filter = ("state", "kind")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
