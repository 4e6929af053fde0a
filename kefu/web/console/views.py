"""The agent console: thin views that parse, call one selector or service, and render.

Tickets are loaded only through kefu.tickets.selectors (the access layer) and changed only through
kefu.tickets.services; a refused change is shown as a message and the browser is redirected back.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.models import Role, User
from kefu.assist import services as assist_services
from kefu.chat import selectors as chat_selectors
from kefu.core.downloads import download_response
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.customers import selectors as customer_selectors
from kefu.customers import services as customer_services
from kefu.customers.models import Channel
from kefu.inbox import selectors as inbox_selectors
from kefu.inbox import services as inbox_services
from kefu.notifications import selectors as alert_selectors
from kefu.notifications import services as alert_services
from kefu.sla import selectors as sla_selectors
from kefu.tickets import selectors, services
from kefu.tickets.fivew1h import missing as missing_facts
from kefu.tickets.models import Complexity, Priority, Ticket
from kefu.tickets.states import CUSTOMER_ACTIONS, Action, Status, allowed_actions
from kefu.web.console import forms
from kefu.web.console.assist_panel import suggestions_context, triage_rows
from kefu.web.console.timeline import describe, identity_method_label

ACTION_LABELS = {
    Action.ACCEPT: gettext_lazy("Accept"),
    Action.WAIT_CUSTOMER: gettext_lazy("Wait on customer"),
    Action.WAIT_INTERNAL: gettext_lazy("Wait on internal team"),
    Action.RESUME: gettext_lazy("Resume"),
    Action.RESOLVE: gettext_lazy("Resolve"),
    Action.REOPEN: gettext_lazy("Reopen"),
    Action.CANCEL: gettext_lazy("Cancel ticket"),
}
"""The status moves staff make with a button (confirm/object are the customer's, merge has its form)."""

STAFF_BUTTON_ACTIONS = [a for a in Action if a not in CUSTOMER_ACTIONS and a != Action.MERGE]


class StaffRequest(HttpRequest):
    user: User  # staff_required guarantees a signed-in, active staff member


View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def staff_required(view: View) -> View:
    """The console exists only for staff; everybody else gets the same "not found" as a missing page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not getattr(request.user, "is_staff_member", False):
            raise Http404
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def console_user_required(view: View) -> View:
    """Pages that department members use too (the bell); everybody else but staff gets "not found"."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (getattr(user, "is_staff_member", False)
                or (getattr(user, "is_active", False) and getattr(user, "role", None) == Role.DEPARTMENT)):
            raise Http404
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def _ticket_or_404(request: StaffRequest, ticket_id: int, *, for_update: bool = False) -> Ticket:
    try:
        return selectors.get_ticket_for(request.user, ticket_id, for_update=for_update)
    except NotFound:
        raise Http404 from None


# ---------------------------------------------------------------------------------------------- list


@require_GET
@staff_required
def ticket_list(request: StaffRequest) -> HttpResponse:
    teams = selectors.team_choices.get()
    form = forms.TicketFilterForm(request.GET, teams=teams)
    page = None
    if form.is_valid():
        try:
            page = selectors.list_tickets(request.user, form.to_filters(request.user),
                                          cursor=request.GET.get("cursor") or None)
        except DomainError as exc:
            messages.error(request, exc.message)
    query = request.GET.copy()
    query.pop("cursor", None)
    next_url = ""
    if page is not None and page.next_cursor:
        next_url = "?" + urlencode([*query.lists(), ("cursor", [page.next_cursor])], doseq=True)
    tickets = page.tickets if page else []
    nearest = sla_selectors.next_due_by_ticket(t.pk for t in tickets)
    return render(request, "web/console/ticket_list.html", {
        "form": form,
        "page": page,
        "tickets": tickets,
        "rows": [(ticket, nearest.get(ticket.pk)) for ticket in tickets],
        "next_url": next_url,
        "first_url": "?" + query.urlencode(),
        "is_paged": bool(request.GET.get("cursor")),
        "teams": teams,
        "agents": selectors.agent_choices.get(),
        "categories": selectors.category_choices.get(),
        "selected": {name: request.GET.getlist(name) for name in
                     ("status", "priority", "category", "channel", "team", "tier")},
        "status_choices": forms.STATUS_CHOICES,
        "priority_choices": Priority.choices,
        "channel_choices": forms.Channel.choices,
        "tier_choices": forms.Tier.choices,
        "sort_choices": forms.SORT_CHOICES,
        "dated_choices": forms.DATED_CHOICES,
        "bulk_actions": [(a.value, ACTION_LABELS[a]) for a in STAFF_BUTTON_ACTIONS],
    })


@require_POST
@staff_required
def bulk_action(request: StaffRequest) -> HttpResponse:
    back = request.POST.get("back", "")
    target = reverse("web:console_tickets") + (back if back.startswith("?") else "")
    form = forms.BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, forms.first_error(form))
        return redirect(target)
    operation, value = form.cleaned_data["operation"], form.cleaned_data["value"]
    try:
        with transaction.atomic():
            tickets = [selectors.get_ticket_for(request.user, pk, for_update=True)
                       for pk in form.cleaned_data["ticket_ids"]]
            if operation == "assign":
                value = _agent(value)
            count = services.bulk_update_tickets(tickets, operation, value, actor=request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(count)s tickets updated.") % {"count": count})
    return redirect(target)


def _agent(user_id: str) -> Any:
    agent = selectors.assignable_agents().filter(pk=int(user_id) if str(user_id).isdigit() else 0).first()
    if agent is None:
        raise DomainError(_("Choose an agent from the list."), code="invalid_owner")
    return agent


# ---------------------------------------------------------------------------------------------- ticket page


@require_GET
@staff_required
def ticket_detail(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    clocks = sla_selectors.clocks_of(ticket)
    customer = ticket.customer
    events = selectors.timeline(request.user, ticket)
    solutions = list(ticket.solutions.all())
    rounds = [(number, list(options)) for number, options in itertools.groupby(solutions, lambda o: o.round)]
    rounds.reverse()  # the latest proposal first
    actions = [a for a in allowed_actions(Status(ticket.status)) if a in ACTION_LABELS]
    missing = missing_facts(ticket.five_w_one_h)
    tags = list(ticket.tags.all())
    update_form = forms.TicketUpdateForm(initial={
        "subject": ticket.subject, "category": ticket.category_id, "priority": ticket.priority,
        "complexity": ticket.complexity, "team": ticket.team_id,
        "tags": ", ".join(t.name for t in tags), **ticket.five_w_one_h,
    })
    thread = list(selectors.visible_messages(request.user, ticket))
    held = inbox_selectors.held_for_ticket(ticket.pk)
    email_auth = inbox_selectors.authentication_of_messages(m.pk for m in thread if m.channel == "email")
    for message in thread:
        message.email_auth = email_auth.get(message.pk)  # type: ignore[attr-defined]
    return render(request, "web/console/ticket_detail.html", {
        "triage_rows": triage_rows(ticket),
        **_later_stage_panels(request, ticket),
        "ticket": ticket,
        "tags": tags,
        "customer": customer,
        "thread": thread,
        "held": held,
        "events": [(event, describe(event)) for event in events],
        "rounds": rounds,
        "actions": [(a.value, ACTION_LABELS[a]) for a in actions],
        "resolve_needs_verification": Action.RESOLVE in actions and not ticket.fix_verified,
        "agents": selectors.agent_choices.get(),
        "teams": selectors.team_choices.get(),
        "update_form": update_form,
        "completeness_percent": round(ticket.five_w_one_h_completeness * 100),
        "missing_facts": [getattr(Ticket._meta.get_field(name), "verbose_name", name) for name in missing],
        "identity_method": identity_method_label(ticket.identity_verified_method),
        "identities": list(customer.identities.all()),
        "orders": list(customer.orders.all()),
        "history": selectors.customer_history(request.user, ticket),
        "priority_choices": Priority.choices,
        "complexity_choices": Complexity.choices,
        "clocks": clocks,
        "update_due": next((c for c in clocks if c.kind == "update" and c.is_open), None),
        "sla": sla_selectors.policy_of(ticket),
    })


@require_GET
@staff_required
def ticket_assist(request: StaffRequest, ticket_id: int) -> HttpResponse:
    """The assist panel's suggestions, fetched by the ticket page once it is shown (or opened as a page of
    their own without JavaScript)."""
    ticket = _ticket_or_404(request, ticket_id)
    context = suggestions_context(request, ticket)
    if request.headers.get("HX-Request"):
        return render(request, "web/console/_assist_suggestions.html", context)
    return render(request, "web/console/ticket_assist.html", context)


def _later_stage_panels(request: StaffRequest, ticket: Ticket) -> dict[str, Any]:
    # Imported here: those pages import this module for staff_required.
    from kefu.web.console import approvals, collaboration, feedback, quality

    return {**collaboration.ticket_panel(request, ticket), **approvals.ticket_panel(request, ticket),
            **feedback.ticket_panel(request, ticket),
            **quality.ticket_panel(request, ticket)}


def _act(request: StaffRequest, ticket_id: int, perform: Callable[[Ticket], str]) -> HttpResponse:
    """Run one change on a locked ticket; show its result or its refusal, then go back to the page."""
    try:
        with transaction.atomic():
            ticket = _ticket_or_404(request, ticket_id, for_update=True)
            if not request.user.can_write_tickets:
                raise PermissionDenied(_("Your role cannot change tickets."))
            done = perform(ticket)
    except PermissionDenied as exc:
        # The role may see this ticket but not change it (a QA reviewer): a refusal, not an input error.
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:console_ticket", ticket_id=ticket_id)


@require_POST
@staff_required
def review_email(request: StaffRequest, ticket_id: int, inbound_id: int) -> HttpResponse:
    """Release a held email into the ticket, or reject it."""
    def perform(ticket: Ticket) -> str:
        inbound = inbox_selectors.held_email_of_ticket(ticket.pk, inbound_id)
        if inbound is None:
            raise DomainError(_("This message is not waiting for review."), code="not_held")
        if request.POST.get("decision") == "release":
            inbox_services.release_held(inbound, actor=request.user)
            return _("The email was added to the ticket.")
        inbox_services.reject_held(inbound, actor=request.user)
        return _("The email was rejected; it stays in the inbox log.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def reply(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        services.reply_to_customer(ticket, request.POST.get("body", ""), actor=request.user,
                                   uploads=forms.uploads(request.FILES))
        assist_services.record_template_use(request.POST.get("template"), ticket, actor=request.user)
        return _("Your reply was sent to the customer.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def progress_update(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        services.send_progress_update(ticket, progress=request.POST.get("progress", ""),
                                      obstacle=request.POST.get("obstacle", ""),
                                      next_step=request.POST.get("next_step", ""), actor=request.user)
        return _("Your progress update was sent to the customer.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def note(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        services.add_internal_note(ticket, request.POST.get("body", ""), actor=request.user,
                                   uploads=forms.uploads(request.FILES))
        return _("Internal note added.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def change_status(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        try:
            action = Action(request.POST.get("action", ""))
        except ValueError:
            raise DomainError(_("Unknown status action."), code="invalid_action") from None
        services.change_status(ticket, action, actor=request.user, reason=request.POST.get("reason", ""))
        return _("Status is now “%(status)s”.") % {"status": ticket.status_label}

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def assign(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        agent = _agent(request.POST.get("owner", ""))
        services.assign_ticket(ticket, agent, actor=request.user)
        return _("Assigned to %(name)s.") % {"name": agent.name}

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def solutions(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        services.propose_solutions(ticket, forms.solution_options(request.POST), actor=request.user)
        return _("The solutions were sent to the customer.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def verify_fix(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        services.verify_fix(ticket, actor=request.user, note=request.POST.get("note", ""))
        return _("The fix is marked as internally verified.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def verify_identity(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        services.verify_customer_identity(ticket, request.POST.get("method", ""),
                                          request.POST.get("value", ""), actor=request.user)
        return _("The customer's identity is verified.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def update(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        form = forms.TicketUpdateForm(request.POST)
        if not form.is_valid():
            raise DomainError(forms.first_error(form), code="invalid_form")
        changes, tags = form.changes()
        services.update_ticket(ticket, actor=request.user, tags=tags, **changes)
        return _("The ticket was updated.")

    return _act(request, ticket_id, perform)


@require_POST
@staff_required
def merge(request: StaffRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket) -> str:
        number = request.POST.get("target", "").strip()
        if not number:
            raise DomainError(_("Enter the number of the ticket to merge into."),
                              code="merge_target_required")
        target = selectors.get_ticket_for(request.user, number, for_update=True)
        services.merge_ticket(ticket, target, actor=request.user)
        return _("Merged into #%(number)s.") % {"number": target.number}

    return _act(request, ticket_id, perform)


@require_GET
@staff_required
def attachment(request: StaffRequest, attachment_id: int) -> FileResponse:
    try:
        stored = selectors.get_attachment_for(request.user, attachment_id)
        return download_response(stored.file, stored.filename, stored.content_type)
    except NotFound:
        raise Http404 from None


@require_GET
@staff_required
def email_original(request: StaffRequest, ticket_id: int, message_id: int) -> FileResponse:
    """The email behind a message exactly as it arrived (.eml): the quoted part the thread trims is there."""
    ticket = _ticket_or_404(request, ticket_id)
    inbound = inbox_selectors.email_of_message(ticket.pk, message_id)
    if inbound is None:
        raise Http404
    return download_response(ContentFile(bytes(inbound.raw)), f"message-{message_id}.eml", "message/rfc822")


# ---------------------------------------------------------------------------------------------- customers


CUSTOMERS_PAGE_SIZE = 50


@require_GET
@staff_required
def customer_list(request: StaffRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:200]
    after = request.GET.get("after", "")
    rows = customer_selectors.search_customers(request.user, q, limit=CUSTOMERS_PAGE_SIZE + 1,
                                               after_id=int(after) if after.isdigit() else None)
    next_url = ""
    if len(rows) > CUSTOMERS_PAGE_SIZE:
        rows = rows[:CUSTOMERS_PAGE_SIZE]
        next_url = "?" + urlencode({"q": q, "after": rows[-1].pk})
    return render(request, "web/console/customer_list.html", {
        "customers": rows, "q": q, "next_url": next_url, "first_url": "?" + urlencode({"q": q}),
        "is_paged": bool(after),
    })


@require_GET
@staff_required
def customer_detail(request: StaffRequest, customer_id: int) -> HttpResponse:
    try:
        customer = customer_selectors.get_customer_for(request.user, customer_id)
    except NotFound:
        raise Http404 from None
    history = selectors.list_tickets(request.user, selectors.TicketFilters(customer=customer.pk),
                                     page_size=100)
    return render(request, "web/console/customer_detail.html", {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "orders": list(customer.orders.all()),
        "tickets": history.tickets,
        "more_tickets": history.next_cursor is not None,
    })


@require_POST
@staff_required
def merge_customer(request: StaffRequest, customer_id: int) -> HttpResponse:
    """Merge this customer into another (the target keeps its number; this one's tickets move there)."""
    form = forms.MergeCustomerForm(request.POST)
    try:
        source = customer_selectors.get_customer_for(request.user, customer_id)
    except NotFound:
        raise Http404 from None
    if not form.is_valid():
        messages.error(request, forms.first_error(form))
        return redirect("web:console_customer", customer_id)
    try:
        target = customer_selectors.get_customer_for(request.user, form.cleaned_data["target"])
        customer_services.merge_customers(source, target, actor=request.user)
    except NotFound:
        messages.error(request, _("There is no customer with that number."))
        return redirect("web:console_customer", customer_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:console_customer", customer_id)
    messages.success(request, _("%(source)s was merged into this customer.") % {"source": source.name})
    return redirect("web:console_customer", target.pk)


@staff_required
def phone_ticket(request: StaffRequest) -> HttpResponse:
    """The form an agent fills in during a call: the caller is found by number (or added), the 5W1H
    captured, and the ticket opens on the phone channel, owned by the agent."""
    caller = "".join(request.GET.get("caller", "").split())
    known = customer_selectors.customer_by_phone(request.user, caller)
    if request.method == "POST":
        form = forms.PhoneTicketForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    customer = customer_services.find_or_create_caller(phone=data["caller"], name=data["name"],
                                                                       actor=request.user)
                    ticket = services.open_ticket(
                        customer=customer, subject=data["subject"], description=data["notes"],
                        actor=request.user, channel=Channel.PHONE, priority=data["priority"],
                        facts=form.facts(), auto_assign=False)
                    services.assign_ticket(ticket, request.user, actor=request.user, reason=_("took the call"))
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Ticket #%(number)s opened for the call.") % {"number": ticket.number})
                return redirect("web:console_ticket", ticket.pk)
    else:
        form = forms.PhoneTicketForm(initial={"caller": caller})
    return render(request, "web/console/phone_ticket.html", {"form": form, "known": known})


@require_GET
@staff_required
def chats(request: StaffRequest) -> HttpResponse:
    """The chat desk: every waiting chat and this agent's own, each with its customer beside it."""
    desk = chat_selectors.chat_queue(request.user)[:12]
    for chat in desk:
        chat.socket_path = f"/ws/console/chats/{chat.pk}/"  # type: ignore[attr-defined]
    waiting = sum(1 for chat in desk if chat.state == "queued")
    return render(request, "web/console/chats.html", {"chats": desk, "waiting": waiting,
                                                      "with_bot": chat_selectors.chats_with_bot()})


@require_GET
@staff_required
def at_risk(request: StaffRequest) -> HttpResponse:
    """Running service-level clocks on the tickets this person may see, least time left first."""
    return render(request, "web/console/at_risk.html", {"clocks": sla_selectors.at_risk(request.user)})


@require_GET
@console_user_required
def alerts(request: StaffRequest) -> HttpResponse:
    return render(request, "web/console/alerts.html", {"alerts": alert_selectors.recent_alerts(request.user)})


@require_POST
@console_user_required
def alerts_read(request: StaffRequest) -> HttpResponse:
    alert_services.mark_alerts_read(request.user)
    return redirect("web:console_alerts")
