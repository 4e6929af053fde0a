"""The console's routing pages: my work (presence, get next), the queue monitor, transfers, the rule preview."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.models import Presence
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.routing import selectors as routing_selectors
from kefu.routing import services as routing_services
from kefu.tickets import selectors
from kefu.tickets.models import Ticket
from kefu.web.console.views import StaffRequest, _act, _agent, staff_required

PRESENCE_LABELS = dict(Presence.choices)
CONDITION_LABELS = {
    "categories": gettext_lazy("Category"), "priorities": gettext_lazy("Priority"),
    "channels": gettext_lazy("Channel"), "languages": gettext_lazy("Language"),
    "tiers": gettext_lazy("Customer tier"), "tags": gettext_lazy("Tags"), "keywords": gettext_lazy("Keywords"),
}


@require_GET
@staff_required
def my_work(request: StaffRequest) -> HttpResponse:
    """The agent's tickets in progress, the one due first on top; presence and "get next" beside them."""
    profile = routing_selectors.presence_of(request.user)
    return render(request, "web/console/my_work.html", {
        "tickets": list(routing_selectors.my_work(request.user)[:200]),
        "profile": profile,
        "presence_choices": Presence.choices,
    })


@require_POST
@staff_required
def set_presence(request: StaffRequest) -> HttpResponse:
    try:
        profile = routing_services.set_presence(request.user, request.POST.get("presence", ""), actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You are now %(presence)s.") % {"presence": PRESENCE_LABELS[profile.presence]})
    return redirect("web:console_work")


@require_POST
@staff_required
def get_next(request: StaffRequest) -> HttpResponse:
    try:
        ticket = routing_services.pull_next(request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:console_work")
    messages.success(request, _("Ticket #%(number)s is yours.") % {"number": ticket.number})
    return redirect("web:console_ticket", ticket_id=ticket.pk)


@require_GET
@staff_required
def wallboard(request: StaffRequest) -> HttpResponse:
    """The live queue monitor; the page re-reads its board every few seconds (htmx)."""
    try:
        board = routing_selectors.wallboard(request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    return render(request, "web/console/wallboard.html", {"board": board})


@require_POST
@staff_required
def transfer(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        to_agent = _agent(request.POST["owner"]) if request.POST.get("owner") else None
        to_team = None
        if request.POST.get("team"):
            to_team = selectors.support_teams().filter(pk=_int(request.POST["team"])).first()
            if to_team is None:
                raise DomainError(_("Choose a team from the list."), code="invalid_team")
        routing_services.transfer(ticket, actor=request.user, to_agent=to_agent, to_team=to_team,
                                  note=request.POST.get("note", ""))
        where = ", ".join(x for x in (to_agent.name if to_agent else "", to_team.name if to_team else "") if x)
        return _("Transferred to %(where)s.") % {"where": where}

    response = _act(request, ticket_id, perform)
    if not selectors.visible_tickets(request.user).filter(pk=ticket_id).exists():
        return redirect("web:console_work")  # handed to a team this agent is not in: back to their own work
    return response


@require_GET
@staff_required
def rules(request: StaffRequest) -> HttpResponse:
    """The routing rules in the order they are tried, and "test this rule against a ticket"."""
    try:
        ordered = routing_selectors.routing_rules(request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    preview = None
    rule_id, ticket_ref = request.GET.get("rule", ""), request.GET.get("ticket", "").strip()
    if rule_id and ticket_ref:
        rule = next((r for r in ordered if str(r.pk) == rule_id), None)
        try:
            ticket = selectors.get_ticket_for(request.user, ticket_ref)
        except NotFound:
            messages.error(request, _("Ticket %(ref)s not found.") % {"ref": ticket_ref})
        else:
            if rule is None:
                messages.error(request, _("Choose a rule from the list."))
            else:
                checks = routing_selectors.preview_rule(rule, ticket)
                preview = {"rule": rule, "ticket": ticket, "matches": all(c.ok for c in checks),
                           "checks": [(CONDITION_LABELS[c.condition], c) for c in checks]}
    return render(request, "web/console/routing_rules.html", {
        "rules": ordered, "preview": preview, "rule_id": rule_id, "ticket_ref": ticket_ref})


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0
