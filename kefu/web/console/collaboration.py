"""The console's collaboration pages: the department inbox and a request's page (department members and
staff), raising requests and recording coordination meetings from the ticket page (the ticket's owner),
and the collaboration ledger (supervisors and administrators; department members for their own)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.models import STAFF_ROLES, Department, Role, User
from kefu.collaboration import selectors, services
from kefu.collaboration.models import ClockState, CollaborationRequest, CoordinationMeeting
from kefu.core.clock import now
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.tickets import selectors as ticket_selectors
from kefu.tickets.models import Ticket
from kefu.web.console.views import StaffRequest, staff_required

View = TypeVar("View", bound=Callable[..., HttpResponseBase])
PLAN_ROWS = 3


class CollaboratorRequest(HttpRequest):
    user: User  # collaborator_required guarantees staff or a department member


def collaborator_required(view: View) -> View:
    """The inbox pages admit staff and department members; everybody else gets "not found"."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.is_collaborator(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def _moment(value: str) -> dt.datetime:
    """A datetime-local field's value in the reader's time zone."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(_("Give a date and time."), code="invalid_datetime") from None
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed


def _local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _refused(exc: PermissionDenied) -> DjangoPermissionDenied:
    return DjangoPermissionDenied(exc.message)


# ---------------------------------------------------------------------------------------------- timeline


CLOCK_LABELS = {"response": gettext_lazy("the department's response"), "resolution": gettext_lazy("the delivery"),
                "plan": gettext_lazy("the meeting's plan")}


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    return date_format(timezone.localtime(dt.datetime.fromisoformat(iso)), "SHORT_DATETIME_FORMAT")


def describe_event(type_: str, payload: dict[str, Any]) -> str | None:
    """The timeline's sentence for one of this area's events; None for any other event."""
    p = payload
    department = p.get("department", "")
    match type_:
        case "collab_raised":
            text = _("Collaboration request to %(department)s: %(need)s (due %(due)s).") % {
                "department": department, "need": p.get("need", ""), "due": _when(p.get("due_at"))}
            if p.get("raised_in_time") is False:
                text += " " + _("Raised later than an hour after acceptance.")
            return text
        case "collab_accepted":
            return _("%(department)s accepted the collaboration request.") % {"department": department}
        case "collab_asked":
            return _("%(department)s asked: %(question)s") % {"department": department,
                                                             "question": p.get("question", "")}
        case "collab_answered":
            return _("Answered %(department)s: %(answer)s") % {"department": department, "answer": p.get("answer", "")}
        case "collab_delivered":
            return _("%(department)s delivered the collaboration request.") % {"department": department}
        case "collab_done":
            return _("Accepted the delivery of %(department)s.") % {"department": department}
        case "collab_rejected":
            return _("Rejected the delivery of %(department)s: %(reason)s") % {"department": department,
                                                                              "reason": p.get("reason", "")}
        case "collab_cancelled":
            return _("Cancelled the collaboration request to %(department)s.") % {"department": department}
        case "collab_warning":
            return _("Collaboration: %(clock)s is due soon (%(due)s).") % {
                "clock": CLOCK_LABELS.get(p.get("clock", ""), p.get("clock", "")), "due": _when(p.get("due_at"))}
        case "collab_breached":
            return _("Collaboration: %(clock)s is overdue (was due %(due)s).") % {
                "clock": CLOCK_LABELS.get(p.get("clock", ""), p.get("clock", "")), "due": _when(p.get("due_at"))}
        case "meeting_recorded":
            return _("Coordination meeting recorded with %(participants)s; the plan is due %(due)s.") % {
                "participants": ", ".join(p.get("participants") or []) or "—", "due": _when(p.get("plan_due_at"))}
        case "meeting_plan_added":
            return _("Added the coordination meeting's plan (%(count)s steps).") % {"count": p.get("plan_items", 0)}
        case "meeting_plan_shared":
            return _("Shared the coordination meeting's plan with the customer.")
    return None


# ---------------------------------------------------------------------------------------------- ticket page


def _participant_choices() -> list[User]:
    return list(User.objects.filter(is_active=True, role__in=[*STAFF_ROLES, Role.DEPARTMENT]).order_by(
        "display_name", "username")[:300])


def ticket_panel(request: Any, ticket: Any) -> dict[str, Any]:
    """Context for this area's card on the ticket page (templates/web/console/collaboration/_ticket_panel.html)."""
    moment = now()
    can_act = services.is_owner_side(ticket, request.user)
    return {
        "collab_requests": selectors.requests_of_ticket(ticket),
        "collab_meetings": selectors.meetings_of_ticket(ticket),
        "collab_can_act": can_act,
        # The forms' choices only for those who get the forms: the people list grows with the organisation.
        "collab_departments": selectors.raise_targets() if can_act else [],
        "collab_participants": _participant_choices() if can_act else [],
        "collab_default_due": _local_input(moment + dt.timedelta(days=1)),
        "collab_now": _local_input(moment),
        "collab_plan_rows": range(PLAN_ROWS),
    }


def _ticket(request: StaffRequest, ticket_id: int) -> Ticket:
    """The ticket, if the reader may see it (else 404) and act for its owner (else 403) — checked before the
    form is read, so a refusal never hides behind an input error."""
    try:
        ticket = ticket_selectors.get_ticket_for(request.user, ticket_id)
    except NotFound:
        raise Http404 from None
    if not services.is_owner_side(ticket, request.user):
        raise DjangoPermissionDenied(_("Only the ticket's owner, a supervisor or an administrator can do this."))
    return ticket


def _back_to_ticket(ticket_id: int) -> HttpResponse:
    return redirect(reverse("web:console_ticket", args=[ticket_id]) + "#collaboration")


@require_POST
@staff_required
def raise_request(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(request, ticket_id)
    post = request.POST
    try:
        department = Department.objects.filter(pk=int(post.get("department", "0") or 0)).first()
        if department is None:
            raise DomainError(_("Choose one of the other departments."), code="invalid_department")
        services.raise_request(
            ticket, department=department, need=post.get("need", ""), deliverable=post.get("deliverable", ""),
            acceptance_standard=post.get("acceptance_standard", ""), due_at=_moment(post.get("due_at", "")),
            context=post.get("context", ""), actor=request.user)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    except (DomainError, ValueError) as exc:
        messages.error(request, exc.message if isinstance(exc, DomainError) else _("Choose a department."))
    else:
        messages.success(request, _("The request was sent to %(department)s.") % {"department": department})
    return _back_to_ticket(ticket.pk)


def _plan_lines(request: HttpRequest) -> list[services.PlanLine]:
    lines = []
    for row in range(PLAN_ROWS):
        what, who = request.POST.get(f"plan_what_{row}", ""), request.POST.get(f"plan_who_{row}", "")
        when = request.POST.get(f"plan_when_{row}", "")
        if not (what.strip() or who.strip()):
            continue
        lines.append(services.PlanLine(what=what, who=who, due_at=_moment(when)))
    return lines


@require_POST
@staff_required
def record_meeting(request: StaffRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(request, ticket_id)
    post = request.POST
    try:
        ids = [int(v) for v in post.getlist("participants") if v.isdigit()]
        participants = list(User.objects.filter(pk__in=ids, is_active=True))
        services.record_meeting(
            ticket, held_at=_moment(post.get("held_at", "")), decisions=post.get("decisions", ""),
            participants=participants, other_participants=post.get("other_participants", ""),
            plan=_plan_lines(request), actor=request.user)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The meeting is recorded."))
    return _back_to_ticket(ticket.pk)


def _meeting(request: StaffRequest, meeting_id: int) -> CoordinationMeeting:
    try:
        meeting = selectors.get_meeting_for(request.user, meeting_id)
    except NotFound:
        raise Http404 from None
    if not services.is_owner_side(meeting.ticket, request.user):
        raise DjangoPermissionDenied(_("Only the ticket's owner, a supervisor or an administrator can do this."))
    return meeting


@require_POST
@staff_required
def add_plan(request: StaffRequest, meeting_id: int) -> HttpResponse:
    meeting = _meeting(request, meeting_id)
    try:
        services.add_plan(meeting, _plan_lines(request), actor=request.user)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The plan is saved."))
    return _back_to_ticket(meeting.ticket_id)


@require_POST
@staff_required
def share_plan(request: StaffRequest, meeting_id: int) -> HttpResponse:
    meeting = _meeting(request, meeting_id)
    try:
        services.share_plan(meeting, actor=request.user)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The plan was sent to the customer."))
    return _back_to_ticket(meeting.ticket_id)


# ---------------------------------------------------------------------------------------------- inbox


SHOW_CHOICES = [("open", gettext_lazy("Open")), ("overdue", gettext_lazy("Overdue")), ("all", gettext_lazy("All"))]


@require_GET
@collaborator_required
def inbox(request: CollaboratorRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    show = show if show in dict(SHOW_CHOICES) else "open"
    department = request.GET.get("department", "")
    department_id = int(department) if department.isdigit() else None
    return render(request, "web/console/collaboration/inbox.html", {
        "requests": selectors.inbox(request.user, show=show, department_id=department_id),
        "departments": selectors.inbox_departments(request.user),
        "show": show, "show_choices": SHOW_CHOICES, "department_id": department_id,
        "is_member": request.user.role == Role.DEPARTMENT,
    })


def _request(request: CollaboratorRequest, request_id: int) -> CollaborationRequest:
    try:
        return selectors.get_request_for(request.user, request_id)
    except NotFound:
        raise Http404 from None


@require_GET
@collaborator_required
def request_detail(request: CollaboratorRequest, request_id: int) -> HttpResponse:
    collab = _request(request, request_id)
    member = services.is_department_member(collab.department_id, request.user)
    owner_side = services.is_owner_side(collab.ticket, request.user)
    state = collab.state
    S = CollaborationRequest.State
    return render(request, "web/console/collaboration/request.html", {
        "collab": collab, "notes": selectors.notes(collab),
        "is_staff": request.user.is_staff_member,
        "can_accept": member and state == S.RAISED,
        "can_ask": member and state in (S.RAISED, S.ACCEPTED),
        "can_deliver": member and state == S.ACCEPTED,
        "can_answer": owner_side and state == S.ASKED_BACK,
        "can_judge": owner_side and state == S.DELIVERED,
        "can_cancel": owner_side and collab.is_open,
        "clocks": [
            (_("Response"), collab.response_state, collab.response_due_at, collab.responded_at),
            (_("Delivery"), collab.resolution_state, collab.due_at, collab.delivered_at),
        ],
        "clock_labels": dict(ClockState.choices),
    })


STEPS = {"accept", "ask", "answer", "deliver", "accept_delivery", "reject_delivery", "cancel"}


@require_POST
@collaborator_required
def request_step(request: CollaboratorRequest, request_id: int) -> HttpResponse:
    collab = _request(request, request_id)
    step, text, actor = request.POST.get("step", ""), request.POST.get("text", ""), request.user
    try:
        with transaction.atomic():
            match step:
                case "accept":
                    services.accept_request(collab, actor=actor)
                    done = _("You accepted the request.")
                case "ask":
                    services.ask_back(collab, text, actor=actor)
                    done = _("Your question was sent to the ticket's owner.")
                case "answer":
                    services.answer_question(collab, text, actor=actor)
                    done = _("Your answer was sent to the department.")
                case "deliver":
                    services.deliver(collab, text, actor=actor)
                    done = _("Delivered. The ticket's owner checks it against the acceptance standard.")
                case "accept_delivery":
                    services.accept_delivery(collab, actor=actor)
                    done = _("The delivery is accepted; the request is done.")
                case "reject_delivery":
                    services.reject_delivery(collab, text, actor=actor)
                    done = _("The delivery was sent back to the department.")
                case "cancel":
                    services.cancel_request(collab, text, actor=actor)
                    done = _("The request is cancelled.")
                case _:
                    raise DomainError(_("Unknown step."), code="unknown_step")
    except PermissionDenied as exc:
        raise _refused(exc) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:console_request", request_id=collab.pk)


# ---------------------------------------------------------------------------------------------- ledger


def _period(month: str) -> tuple[dt.datetime, dt.datetime, str]:
    """[start, end) of the chosen month (YYYY-MM) in the reader's time zone; the last 30 days by default."""
    tz = timezone.get_current_timezone()
    try:
        first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=tz)
    except ValueError:
        end = now()
        return end - dt.timedelta(days=30), end, ""
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following, month


@require_GET
@collaborator_required
def ledger(request: CollaboratorRequest) -> HttpResponse:
    if not selectors.ledger_departments(request.user) and request.user.role not in selectors.LEDGER_READERS:
        raise Http404
    start, end, month = _period(request.GET.get("month", ""))
    rows = selectors.ledger(request.user, start, end)
    return render(request, "web/console/collaboration/ledger.html", {
        "rows": [(row, _duration(row.median_response), _duration(row.median_resolution)) for row in rows],
        "overdue": [(row.department, r) for row in rows for r in row.overdue],
        "start": start, "end": end, "month": month, "period_end": end - dt.timedelta(seconds=1),
    })


def _duration(value: dt.timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


urlpatterns: list[URLPattern] = [
    path("console/requests/", inbox, name="console_requests"),
    path("console/requests/<int:request_id>/", request_detail, name="console_request"),
    path("console/requests/<int:request_id>/step/", request_step, name="console_request_step"),
    path("console/tickets/<int:ticket_id>/requests/new/", raise_request, name="console_raise_request"),
    path("console/tickets/<int:ticket_id>/meetings/new/", record_meeting, name="console_meeting"),
    path("console/meetings/<int:meeting_id>/plan/", add_plan, name="console_meeting_plan"),
    path("console/meetings/<int:meeting_id>/share/", share_plan, name="console_share_plan"),
    path("console/collaboration/ledger/", ledger, name="console_collaboration_ledger"),
]
