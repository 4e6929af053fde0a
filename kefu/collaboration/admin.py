from django.contrib import admin

from kefu.collaboration.models import CollaborationRequest, CoordinationMeeting


@admin.register(CollaborationRequest)
class CollaborationRequestAdmin(admin.ModelAdmin):
    # Read-only: every change goes through the services so that it reaches the ticket's timeline.
    list_display = ("pk", "ticket", "department", "state", "raised_at", "response_state", "resolution_state",
                    "due_at")
    list_filter = ("department", "state", "response_state", "resolution_state")
    raw_id_fields = ("ticket",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(CoordinationMeeting)
class CoordinationMeetingAdmin(admin.ModelAdmin):
    list_display = ("pk", "ticket", "held_at", "plan_state", "plan_due_at", "shared_at")
    raw_id_fields = ("ticket",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
