from django.contrib import admin

from kefu.feedback.models import FollowUpTask, PanelMember, Survey, SurveyQuestion


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "text_en", "text_zh", "required", "position", "active")
    list_editable = ("required", "position", "active")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("ticket", "state", "sent_at", "reminded_at", "answered_at", "bad", "late")
    list_filter = ("state", "bad", "late")
    readonly_fields = ("token_digest", "reminder_digest")
    raw_id_fields = ("ticket", "customer")


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(admin.ModelAdmin):
    list_display = ("ticket", "assignee", "state", "contact_due_at", "callback_due_at", "closed_at")
    list_filter = ("state",)
    raw_id_fields = ("ticket", "survey")


@admin.register(PanelMember)
class PanelMemberAdmin(admin.ModelAdmin):
    list_display = ("customer", "language", "joined_at")
    raw_id_fields = ("customer", "survey")
