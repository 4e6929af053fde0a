from django.contrib import admin

from kefu.knowledge.models import ArticleFeedback, KnowledgeCategory


@admin.register(KnowledgeCategory)
class KnowledgeCategoryAdmin(admin.ModelAdmin):
    list_display = ("key", "name_zh", "name_en", "position")
    list_editable = ("position",)


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    """Read-only: readers' answers are evidence, not something to edit."""

    list_display = ("article", "locale", "version", "helpful", "comment", "created_at")
    list_filter = ("helpful", "locale")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
