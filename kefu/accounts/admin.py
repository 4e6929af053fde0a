from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import AgentProfile, AgentSkill, ApiToken, Department, Skill, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_active")
    list_filter = ("role", "is_active", "departments")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("kefu"), {"fields": ("display_name", "role", "departments", "language", "time_zone")}),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("slug", "name")
    search_fields = ("slug", "name")


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "presence", "open_tickets", "max_tickets", "active_chats", "max_chats", "last_seen_at")
    list_filter = ("presence", "user__departments")
    search_fields = ("user__username", "user__display_name")
    readonly_fields = ("presence_changed_at", "last_seen_at", "open_tickets", "active_chats")
    fields = ("user", "presence", "presence_changed_at", "last_seen_at", "max_tickets", "max_chats", "languages",
              "calendar", "open_tickets", "active_chats")
    inlines = [AgentSkillInline]
