"""The console's frontline-authority pages: a card on the ticket page to record a decision (within one's
limit) or request approval (above it), the approvals queue where supervisors and administrators approve or
reject, and the administrators' limits editor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.models import Role
from kefu.approvals import conf, selectors, services
from kefu.approvals.models import Decision, DecisionKind
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import get_ticket_for
from kefu.web.console.views import StaffRequest, staff_required

APPROVERS = {Role.SUPERVISOR, Role.ADMIN}


def _ticket_url(ticket_id: int) -> str:
    return reverse("web:console_ticket", args=[ticket_id])


def _decision(request: StaffRequest, decision_id: int) -> Decision:
    try:
        return selectors.get_decision_for(request.user, decision_id)
    except NotFound:
        raise Http404 from None


def _refused(request: StaffRequest, exc: DomainError) -> None:
    """A role that may not do this gets 403; a request that cannot be done now gets a message."""
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(exc.message) from None
    messages.error(request, exc.message)


@require_POST
@staff_required
def record_decision(request: StaffRequest, ticket_id: int) -> HttpResponse:
    try:
        with transaction.atomic():
            try:
                ticket = get_ticket_for(request.user, ticket_id, for_update=True)
            except NotFound:
                raise Http404 from None
            decision = services.record_decision(
                ticket, kind=selectors.kind_by_key(request.POST.get("kind", "")),
                amount=services.parse_amount(request.POST.get("amount", "")[:30]),
                reason=request.POST.get("reason", ""), actor=request.user)
    except DomainError as exc:
        _refused(request, exc)
    else:
        fields = {"kind": decision.kind.label(), "amount": decision.amount_display}
        if decision.state == Decision.State.DECIDED:
            messages.success(request, _("Decided: %(kind)s of %(amount)s. Tell the customer in a reply.") % fields)
        else:
            messages.success(request, _("%(kind)s of %(amount)s is above your limit: approval requested.") % fields)
    return redirect(_ticket_url(ticket_id))


@require_POST
@staff_required
def withdraw_decision(request: StaffRequest, decision_id: int) -> HttpResponse:
    decision = _decision(request, decision_id)
    try:
        services.withdraw_decision(decision, actor=request.user)
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The request was withdrawn."))
    return redirect(_ticket_url(decision.ticket_id))


def _require_approver(request: StaffRequest) -> None:
    if request.user.role not in APPROVERS:
        raise DjangoPermissionDenied(_("Only supervisors and administrators approve requests."))


@require_GET
@staff_required
def approval_list(request: StaffRequest) -> HttpResponse:
    _require_approver(request)
    return render(request, "web/console/approvals/queue.html", {
        "queue": selectors.approval_queue(request.user)})


@require_POST
@staff_required
def approval_decide(request: StaffRequest, decision_id: int) -> HttpResponse:
    _require_approver(request)
    decision = _decision(request, decision_id)
    action = request.POST.get("action")
    try:
        if action not in {"approve", "reject"}:
            raise DomainError(_("Choose approve or reject."), code="invalid_action")
        services.decide_request(decision, approve=action == "approve", reason=request.POST.get("reason", ""),
                                actor=request.user)
    except DomainError as exc:
        _refused(request, exc)
    else:
        fields = {"number": decision.ticket.number, "kind": decision.kind.label(), "amount": decision.amount_display}
        messages.success(request, (_("Approved: %(kind)s of %(amount)s on #%(number)s.") if action == "approve"
                                   else _("Rejected: %(kind)s of %(amount)s on #%(number)s.")) % fields)
    back = request.POST.get("next", "")
    return redirect(_ticket_url(decision.ticket_id) if back == "ticket" else reverse("web:console_approvals"))


def _limit(value: str, kind: DecisionKind) -> Decimal | None:
    """A limit typed in the editor; empty means "may not decide alone"."""
    if not value.strip():
        return None
    try:
        return services.parse_amount(value[:30])
    except DomainError:
        raise DomainError(_("%(kind)s: enter the limit as a number, or leave it empty.") % {
            "kind": kind.label()}, code="invalid_amount") from None


@require_http_methods(["GET", "POST"])
@staff_required
def authority(request: StaffRequest) -> HttpResponse:
    if request.user.role != Role.ADMIN:
        raise DjangoPermissionDenied(_("Only administrators set the limits."))
    if request.method == "POST":
        try:
            changes = [services.LimitChange(
                kind=row.kind, agent=_limit(request.POST.get(f"agent-{row.kind.pk}", ""), row.kind),
                supervisor=_limit(request.POST.get(f"supervisor-{row.kind.pk}", ""), row.kind),
                active=request.POST.get(f"active-{row.kind.pk}") == "on") for row in selectors.limits_table()]
            changed = services.save_authority(changes, actor=request.user)
        except DomainError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("The limits are saved (%(count)s changes).") % {"count": changed})
        return redirect(reverse("web:console_authority"))
    return render(request, "web/console/approvals/authority.html", {
        "rows": selectors.limits_table(), "currency": conf.currency()})


urlpatterns: list[URLPattern] = [
    path("console/approvals/", approval_list, name="console_approvals"),
    path("console/approvals/<int:decision_id>/decide/", approval_decide, name="console_approval_decide"),
    path("console/authority/", authority, name="console_authority"),
    path("console/tickets/<int:ticket_id>/decisions/new/", record_decision, name="console_record_decision"),
    path("console/decisions/<int:decision_id>/withdraw/", withdraw_decision, name="console_withdraw_decision"),
]


def _kind_name(payload: dict[str, Any]) -> str:
    language = get_language() or "zh-hans"
    return str(payload.get("kind_zh") if language.startswith("zh") else payload.get("kind_en")) or str(
        payload.get("kind", ""))


def describe_event(type_: str, payload: dict[str, Any]) -> str | None:
    """The timeline's sentence for one of this area's events; None for any other event."""
    if not type_.startswith("approval_"):
        return None
    fields = {"kind": _kind_name(payload), "amount": f"{payload.get('amount', '')} {payload.get('currency', '')}",
              "reason": payload.get("reason") or "—", "requester": payload.get("requested_by") or "—"}
    match type_:
        case "approval_decided_alone":
            return _("Decided %(kind)s of %(amount)s within their limit: %(reason)s") % fields
        case "approval_requested":
            if payload.get("approver_role") == Role.ADMIN:
                return _("Asked an administrator to approve %(kind)s of %(amount)s: %(reason)s") % fields
            return _("Asked a supervisor to approve %(kind)s of %(amount)s: %(reason)s") % fields
        case "approval_approved":
            if payload.get("reason"):
                return _("Approved %(kind)s of %(amount)s asked by %(requester)s: %(reason)s") % fields
            return _("Approved %(kind)s of %(amount)s asked by %(requester)s.") % fields
        case "approval_rejected":
            return _("Rejected %(kind)s of %(amount)s asked by %(requester)s: %(reason)s") % fields
        case "approval_withdrawn":
            return _("Withdrew the request for %(kind)s of %(amount)s.") % fields
    return None


def ticket_panel(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """Context for this area's card on the ticket page (templates/web/console/approvals/_ticket_panel.html)."""
    user = request.user
    decisions = selectors.decisions_on(ticket)
    return {
        "approval_decisions": [(d, services.can_approve(user, d) if d.is_pending else False)  # type: ignore[arg-type]
                               for d in decisions],
        "approval_currency": conf.currency(),
        "approval_can_record": getattr(user, "can_write_tickets", False),
        "approval_authority": selectors.my_authority(user) if getattr(user, "can_write_tickets", False) else [],  # type: ignore[arg-type]
    }
