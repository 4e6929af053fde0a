from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.core.admin import ReadOnlyAdmin
from kefu.core.errors import DomainError
from kefu.inbox import services
from kefu.inbox.models import ChannelEndpoint, InboundEmail, InboundEvent, Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "team", "imap_host", "active", "last_polled_at", "last_error")
    list_editable = ("active",)


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Every message received: what became of it, and the held and quarantined ones to act on."""

    list_display = ("received_at", "sender", "subject", "source", "state", "reason", "ticket_id", "attempts")
    list_filter = ("state", "source", "mailbox")
    search_fields = ("sender", "subject", "message_id")
    exclude = ("raw",)
    actions = ("replay_selected", "release_selected", "reject_selected")

    @admin.action(description=_("Process the selected quarantined messages again"))
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        counts = services.replay(queryset.values_list("pk", flat=True))
        self.message_user(request, ", ".join(f"{k}: {v}" for k, v in counts.items()) or _("Nothing to replay."))

    @admin.action(description=_("Release the selected held messages into their tickets"))
    def release_selected(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        self._review(request, queryset, release=True)

    @admin.action(description=_("Reject the selected held messages"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        self._review(request, queryset, release=False)

    def _review(self, request: HttpRequest, queryset: QuerySet[InboundEmail], *, release: bool) -> None:
        done = 0
        for inbound in queryset:
            try:
                if release:
                    services.release_held(inbound, actor=request.user)  # type: ignore[arg-type]
                else:
                    services.reject_held(inbound, actor=request.user)  # type: ignore[arg-type]
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{inbound}: {exc}", level=messages.WARNING)
        self.message_user(request, ngettext("%(n)d message reviewed.", "%(n)d messages reviewed.", done) % {"n": done})


@admin.register(ChannelEndpoint)
class ChannelEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "slug", "team", "active")
    list_filter = ("kind", "active")
    list_editable = ("active",)
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "endpoint", "external_id", "sender", "ticket_id")
    list_filter = ("endpoint",)
    search_fields = ("external_id", "sender")
