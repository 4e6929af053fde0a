from django.contrib import admin

from kefu.assist.models import ReplyTemplate


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "locale", "category", "experiment", "variant", "active")
    list_filter = ("locale", "active", "experiment")
    search_fields = ("name", "body", "keywords")
