"""Every write of cross-department collaboration: requests and their steps, coordination meetings and plans,
and the sweep that warns and breaches their clocks.

The ticket's owner (主对接人) raises, answers, accepts or rejects deliveries and shares plans; members of
the department accept, ask back and deliver. Each step is an internal event on the ticket's timeline,
written in the step's transaction. Nothing a department member does reaches the customer: only the
owner's plan sharing is a public reply (kefu.tickets.services.reply_to_customer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kefu.accounts.models import Department, Role, User
from kefu.collaboration import conf
from kefu.collaboration.models import (
    OPEN_CLOCK_STATES,
    ClockState,
    CollaborationNote,
    CollaborationRequest,
    CoordinationMeeting,
    PlanItem,
)
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.services import StaffAlertRequest, alert_staff_many
from kefu.sla import businesstime as bt
from kefu.sla.calendars import calendar_for
from kefu.sla.models import BusinessCalendar
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket
from kefu.tickets.states import Status

State = CollaborationRequest.State
FINISHED_TICKET = frozenset({Status.CLOSED, Status.CANCELLED, Status.MERGED})
OVERSEERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
"""Roles that act for a ticket's owner on any ticket they can see."""
SWEEP_BATCH = 200
TEXT_LIMIT = 4000


# ---------------------------------------------------------------------------------------------- rules


def is_owner_side(ticket: Ticket, actor: User) -> bool:
    """The owner speaks for the ticket; supervisors and admins may step in; an unowned ticket, any writer."""
    if not actor.can_write_tickets:
        return False
    return actor.role in OVERSEERS or ticket.owner_id in (None, actor.pk)


def is_department_member(department_id: int, actor: User) -> bool:
    return (actor.is_active and actor.role == Role.DEPARTMENT
            and actor.departments.filter(pk=department_id).exists())


def _require_owner_side(ticket: Ticket, actor: User) -> None:
    if not is_owner_side(ticket, actor):
        raise PermissionDenied(_("Only the ticket's owner, a supervisor or an administrator can do this."))


def _require_member(request: CollaborationRequest, actor: User) -> None:
    if not is_department_member(request.department_id, actor):
        raise PermissionDenied(_("Only members of the department can do this."))


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(_("Fill in %(field)s.") % {"field": what}, code="required")
    return value[:TEXT_LIMIT]


def _require_state(request: CollaborationRequest, *states: str) -> None:
    if request.state not in states:
        raise DomainError(_("This request is “%(state)s”; that step is not possible now.") % {
            "state": request.get_state_display()}, code="illegal_step")


# ---------------------------------------------------------------------------------------------- clocks


def department_calendar(department: Department) -> bt.Calendar:
    """The department's working hours; the default office hours when it has none; 24/7 without those."""
    calendar_id = department.calendar_id
    if calendar_id is None:
        calendar_id = (BusinessCalendar.objects.filter(name=conf.get("COLLABORATION_DEFAULT_CALENDAR"))
                       .values_list("pk", flat=True).first())
    return calendar_for(calendar_id, settings.TIME_ZONE)


def _warn_point(calendar: bt.Calendar, start: dt.datetime, end: dt.datetime) -> dt.datetime | None:
    """When the warning share of the business time from start to end has passed."""
    total = bt.between(calendar, start, end)
    if total <= 0:
        return None
    return bt.add(calendar, start, total * conf.get("COLLABORATION_WARNING_PERCENT") / 100)


def _next_check(request: CollaborationRequest) -> dt.datetime | None:
    if not request.is_open:
        return None
    moments = []
    for state, warn_at, due_at in (
        (request.response_state, request.response_warn_at, request.response_due_at),
        (request.resolution_state, request.resolution_warn_at, request.due_at),
    ):
        if state == ClockState.RUNNING:
            moments.append(warn_at or due_at)
        elif state == ClockState.WARNING:
            moments.append(due_at)
    return min(moments, default=None)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _event(request: CollaborationRequest, type_: str, actor: User | None, **payload: object) -> None:
    ticket_services.record_ticket_event(
        request.ticket, type_, actor=actor, public=False, request_id=request.pk,
        department=request.department.name, **payload)


def _lock(request: CollaborationRequest) -> CollaborationRequest:
    return (CollaborationRequest.objects.select_for_update(of=("self",))
            .select_related("ticket", "department").get(pk=request.pk))


def _save(request: CollaborationRequest, *fields: str) -> None:
    request.next_check_at = _next_check(request)
    request.save(update_fields=[*fields, "next_check_at"])


# ---------------------------------------------------------------------------------------------- alerts


def _members(department_id: int) -> list[User]:
    return list(User.objects.filter(departments=department_id, role=Role.DEPARTMENT, is_active=True))


def _alert(users: Iterable[User | None], kind: str, ticket_id: int, message: str,
           values: Callable[[], dict[str, object]]) -> list[StaffAlertRequest]:
    """Bell notices worded in each reader's language (``message`` is a gettext_noop sentence)."""
    unique = {user.pk: user for user in users if user is not None}
    return [StaffAlertRequest(user, kind, ticket_id, lambda _language: _(message) % values())
            for user in unique.values()]


NEW_REQUEST_TEXT = gettext_noop("New collaboration request on #%(number)s: %(need)s")
STEP_TEXT = gettext_noop("%(department)s: %(step)s (collaboration request for #%(number)s).")
WARNING_TEXT = gettext_noop("The collaboration request for #%(number)s (%(department)s): %(clock)s is due at %(due)s.")
BREACH_TEXT = gettext_noop("The collaboration request for #%(number)s (%(department)s): %(clock)s was due at "
                           "%(due)s and is overdue.")
PLAN_WARNING_TEXT = gettext_noop("The plan of the coordination meeting on #%(number)s is due at %(due)s.")
PLAN_BREACH_TEXT = gettext_noop("The plan of the coordination meeting on #%(number)s was due at %(due)s and is "
                                "overdue.")
CLOCK_NAMES = {"response": gettext_noop("the department's response"), "resolution": gettext_noop("the delivery"),
               "plan": gettext_noop("the plan")}
STEP_NAMES = {"collab_accepted": gettext_noop("accepted the request"),
              "collab_asked": gettext_noop("asked the ticket's owner a question"),
              "collab_delivered": gettext_noop("delivered the work"),
              "collab_rejected": gettext_noop("the delivery was sent back")}


def _when(moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _tell_owner(request: CollaborationRequest, type_: str) -> None:
    """A department's step is news for the ticket's owner (the bell; never the customer)."""
    owner = request.ticket.owner
    if owner is None:
        return
    ticket, department = request.ticket, request.department.name
    alert_staff_many(_alert([owner], type_, ticket.pk, STEP_TEXT, lambda: {
        "department": department, "step": _(STEP_NAMES[type_]), "number": ticket.number}))


# ---------------------------------------------------------------------------------------------- requests


@transaction.atomic
def raise_request(ticket: Ticket, *, department: Department, need: str, deliverable: str,
                  acceptance_standard: str, due_at: dt.datetime, context: str = "",
                  actor: User) -> CollaborationRequest:
    """Ask another department for work on this ticket. Its response clock starts now on the department's
    calendar; the delivery is due at ``due_at``; whether it was raised within the hour after the ticket's
    acceptance is judged now, once."""
    _require_owner_side(ticket, actor)
    if Status(ticket.status) in FINISHED_TICKET:
        raise DomainError(_("This ticket is finished; reopen it first."), code="finished")
    if department.kind != Department.Kind.OTHER or not department.active:
        raise DomainError(_("Choose one of the other departments."), code="invalid_department")
    values = {"need": _text(need, _("what is needed")), "deliverable": _text(deliverable, _("the deliverable")),
              "acceptance_standard": _text(acceptance_standard, _("the acceptance standard"))}
    moment = now()
    if due_at.tzinfo is None:
        raise DomainError(_("Give the due time with its time zone."), code="naive_due")
    if due_at <= moment:
        raise DomainError(_("The due time must be in the future."), code="due_in_past")
    calendar = department_calendar(department)
    response_due = bt.add(calendar, moment, conf.get("COLLABORATION_RESPONSE_MINUTES") * 60)
    raise_due = (ticket.accepted_at + dt.timedelta(minutes=conf.get("COLLABORATION_RAISE_MINUTES"))
                 if ticket.accepted_at else None)
    request = CollaborationRequest(
        ticket=ticket, department=department, raised_by=actor, context=(context or "").strip()[:TEXT_LIMIT],
        raised_at=moment, raise_due_at=raise_due, raised_in_time=None if raise_due is None else moment <= raise_due,
        response_due_at=response_due, response_warn_at=_warn_point(calendar, moment, response_due),
        due_at=due_at, resolution_warn_at=_warn_point(calendar, moment, due_at), **values)
    request.next_check_at = _next_check(request)
    request.save()
    _event(request, "collab_raised", actor, need=values["need"][:200], due_at=_iso(due_at),
           response_due_at=_iso(response_due), raised_in_time=request.raised_in_time)
    number, need_short = ticket.number, values["need"][:120]
    alert_staff_many(_alert(_members(department.pk), "collab_raised", ticket.pk, NEW_REQUEST_TEXT,
                            lambda: {"number": number, "need": need_short}))
    return request


def _respond(request: CollaborationRequest, moment: dt.datetime) -> None:
    """Accepting or asking back is the department's response (the first one counts)."""
    if request.responded_at is None:
        request.responded_at = moment
        if request.response_state in OPEN_CLOCK_STATES:
            request.response_state = ClockState.MET if moment <= request.response_due_at else ClockState.BREACHED


@transaction.atomic
def accept_request(request: CollaborationRequest, *, actor: User) -> CollaborationRequest:
    request = _lock(request)
    _require_member(request, actor)
    _require_state(request, State.RAISED)
    moment = now()
    _respond(request, moment)
    request.state, request.accepted_at, request.accepted_by = State.ACCEPTED, moment, actor
    _save(request, "state", "accepted_at", "accepted_by", "responded_at", "response_state")
    _event(request, "collab_accepted", actor, in_time=request.response_state == ClockState.MET)
    _tell_owner(request, "collab_accepted")
    return request


@transaction.atomic
def ask_back(request: CollaborationRequest, question: str, *, actor: User) -> CollaborationNote:
    """The department needs something from the owner; the request waits for the answer."""
    request = _lock(request)
    _require_member(request, actor)
    _require_state(request, State.RAISED, State.ACCEPTED)
    body = _text(question, _("the question"))
    _respond(request, now())
    request.state = State.ASKED_BACK
    _save(request, "state", "responded_at", "response_state")
    note = CollaborationNote.objects.create(request=request, author=actor, kind=CollaborationNote.Kind.QUESTION,
                                            body=body)
    _event(request, "collab_asked", actor, question=body[:200])
    _tell_owner(request, "collab_asked")
    return note


@transaction.atomic
def answer_question(request: CollaborationRequest, answer: str, *, actor: User) -> CollaborationNote:
    request = _lock(request)
    _require_owner_side(request.ticket, actor)
    _require_state(request, State.ASKED_BACK)
    body = _text(answer, _("the answer"))
    request.state = State.ACCEPTED if request.accepted_at else State.RAISED
    _save(request, "state")
    note = CollaborationNote.objects.create(request=request, author=actor, kind=CollaborationNote.Kind.ANSWER,
                                            body=body)
    _event(request, "collab_answered", actor, answer=body[:200])
    return note


@transaction.atomic
def deliver(request: CollaborationRequest, delivery: str, *, actor: User) -> CollaborationRequest:
    """The department hands over its deliverable; the resolution clock is met if it is on time."""
    request = _lock(request)
    _require_member(request, actor)
    _require_state(request, State.ACCEPTED)
    moment = now()
    request.delivery, request.delivered_at, request.state = _text(delivery, _("the delivery")), moment, State.DELIVERED
    if request.resolution_state in OPEN_CLOCK_STATES:
        request.resolution_state = ClockState.MET if moment <= request.due_at else ClockState.BREACHED
    _save(request, "delivery", "delivered_at", "state", "resolution_state")
    CollaborationNote.objects.create(request=request, author=actor, kind=CollaborationNote.Kind.DELIVERY,
                                     body=request.delivery)
    _event(request, "collab_delivered", actor, in_time=moment <= request.due_at)
    _tell_owner(request, "collab_delivered")
    return request


@transaction.atomic
def accept_delivery(request: CollaborationRequest, *, actor: User) -> CollaborationRequest:
    request = _lock(request)
    _require_owner_side(request.ticket, actor)
    _require_state(request, State.DELIVERED)
    request.state, request.closed_at = State.DONE, now()
    _save(request, "state", "closed_at")
    _event(request, "collab_done", actor)
    return request


@transaction.atomic
def reject_delivery(request: CollaborationRequest, reason: str, *, actor: User) -> CollaborationRequest:
    """The delivery does not meet the acceptance standard: the department works on; the clock runs again
    (the sweep reports it at once if its time has already passed)."""
    request = _lock(request)
    _require_owner_side(request.ticket, actor)
    _require_state(request, State.DELIVERED)
    body = _text(reason, _("the reason"))
    request.state, request.delivered_at = State.ACCEPTED, None
    if request.resolution_state == ClockState.MET:
        request.resolution_state = ClockState.RUNNING
    _save(request, "state", "delivered_at", "resolution_state")
    CollaborationNote.objects.create(request=request, author=actor, kind=CollaborationNote.Kind.REJECTION, body=body)
    _event(request, "collab_rejected", actor, reason=body[:200])
    members = _members(request.department_id)
    ticket = request.ticket
    alert_staff_many(_alert(members, "collab_rejected", ticket.pk, STEP_TEXT, lambda: {
        "department": request.department.name, "step": _(STEP_NAMES["collab_rejected"]), "number": ticket.number}))
    return request


@transaction.atomic
def cancel_request(request: CollaborationRequest, reason: str = "", *, actor: User) -> CollaborationRequest:
    request = _lock(request)
    _require_owner_side(request.ticket, actor)
    _require_state(request, State.RAISED, State.ACCEPTED, State.ASKED_BACK, State.DELIVERED)
    request.state, request.closed_at = State.CANCELLED, now()
    for field in ("response_state", "resolution_state"):
        if getattr(request, field) in OPEN_CLOCK_STATES:
            setattr(request, field, ClockState.STOPPED)
    _save(request, "state", "closed_at", "response_state", "resolution_state")
    if reason.strip():
        CollaborationNote.objects.create(request=request, author=actor, kind=CollaborationNote.Kind.CANCELLATION,
                                         body=reason.strip()[:TEXT_LIMIT])
    _event(request, "collab_cancelled", actor, reason=reason.strip()[:200])
    return request


# ---------------------------------------------------------------------------------------------- meetings


@dataclass(frozen=True)
class PlanLine:
    what: str
    who: str
    due_at: dt.datetime


def _plan_items(meeting: CoordinationMeeting, lines: Sequence[PlanLine]) -> list[PlanItem]:
    items = []
    for position, line in enumerate(lines):
        if not line.what.strip() or not line.who.strip():
            raise DomainError(_("Each line of the plan needs what is done and who does it."), code="plan_line")
        items.append(PlanItem(meeting=meeting, what=line.what.strip()[:300], who=line.who.strip()[:150],
                              due_at=line.due_at, position=position))
    return PlanItem.objects.bulk_create(items)


def _plan_ready(meeting: CoordinationMeeting, moment: dt.datetime) -> None:
    meeting.plan_ready_at = moment
    if meeting.plan_state in OPEN_CLOCK_STATES:
        meeting.plan_state = ClockState.MET if moment <= meeting.plan_due_at else ClockState.BREACHED
    meeting.next_check_at = None


@transaction.atomic
def record_meeting(ticket: Ticket, *, held_at: dt.datetime, decisions: str, participants: Sequence[User] = (),
                   other_participants: str = "", plan: Sequence[PlanLine] = (), actor: User) -> CoordinationMeeting:
    """A coordination meeting about the ticket. Its plan and timetable is due within two hours of the
    meeting; given here, the plan is ready at once, otherwise add it with ``add_plan``."""
    _require_owner_side(ticket, actor)
    moment = now()
    if held_at > moment + dt.timedelta(minutes=5):
        raise DomainError(_("Record a meeting once it has been held."), code="meeting_in_future")
    if not participants and not other_participants.strip():
        raise DomainError(_("Name who took part."), code="no_participants")
    due = held_at + dt.timedelta(minutes=conf.get("COLLABORATION_PLAN_MINUTES"))
    warn = held_at + (due - held_at) * conf.get("COLLABORATION_WARNING_PERCENT") / 100
    meeting = CoordinationMeeting(
        ticket=ticket, held_at=held_at, recorded_by=actor, other_participants=other_participants.strip()[:500],
        decisions=_text(decisions, _("the decisions")), plan_due_at=due, plan_warn_at=warn, next_check_at=warn)
    if plan:
        _plan_ready(meeting, moment)
    meeting.save()
    meeting.participants.set(participants)
    _plan_items(meeting, plan)
    ticket_services.record_ticket_event(
        ticket, "meeting_recorded", actor=actor, public=False, meeting_id=meeting.pk,
        participants=[u.name for u in participants] + ([meeting.other_participants] if meeting.other_participants
                                                         else []),
        plan_items=len(plan), plan_due_at=_iso(due))
    return meeting


@transaction.atomic
def add_plan(meeting: CoordinationMeeting, plan: Sequence[PlanLine], *, actor: User) -> CoordinationMeeting:
    meeting = CoordinationMeeting.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=meeting.pk)
    _require_owner_side(meeting.ticket, actor)
    if meeting.shared_at is not None:
        raise DomainError(_("This plan was already shared with the customer."), code="plan_shared")
    if not plan:
        raise DomainError(_("Add at least one line to the plan."), code="plan_empty")
    _plan_items(meeting, plan)
    if meeting.plan_ready_at is None:
        _plan_ready(meeting, now())
        meeting.save(update_fields=["plan_ready_at", "plan_state", "next_check_at"])
    ticket_services.record_ticket_event(meeting.ticket, "meeting_plan_added", actor=actor, public=False,
                                        meeting_id=meeting.pk, plan_items=len(plan))
    return meeting


def plan_text(meeting: CoordinationMeeting, items: Sequence[PlanItem], language: str) -> str:
    """The plan as the customer reads it, in their language."""
    with translation.override(language):
        lines = [_("Our plan and timetable for your request:")]
        lines += [f"{i}. {_when(item.due_at)} — {item.what} ({item.who})" for i, item in enumerate(items, 1)]
        lines.append(_("We will keep you updated at each step."))
    return "\n".join(lines)


@transaction.atomic
def share_plan(meeting: CoordinationMeeting, *, actor: User) -> CoordinationMeeting:
    """Send the meeting's plan to the customer as a reply from the owner (the single voice to the customer)."""
    meeting = CoordinationMeeting.objects.select_for_update(of=("self",)).get(pk=meeting.pk)
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer", "owner").get(
        pk=meeting.ticket_id)
    _require_owner_side(ticket, actor)
    items = list(meeting.plan_items.all())
    if not items:
        raise DomainError(_("Add the plan before sharing it."), code="plan_empty")
    language = ticket.language or ticket.customer.language or settings.LANGUAGE_CODE
    ticket_services.reply_to_customer(ticket, plan_text(meeting, items, language), actor=actor)
    meeting.shared_at = now()
    meeting.save(update_fields=["shared_at"])
    ticket_services.record_ticket_event(ticket, "meeting_plan_shared", actor=actor, public=False,
                                        meeting_id=meeting.pk, plan_items=len(items))
    return meeting


# ---------------------------------------------------------------------------------------------- the sweep


def _due_clocks(request: CollaborationRequest, moment: dt.datetime) -> list[tuple[str, str, dt.datetime]]:
    """Move this request's clocks whose warning or due time has come: [(clock, event type, due)]."""
    moved = []
    for clock, state_field, warn_at, due_at in (
        ("response", "response_state", request.response_warn_at, request.response_due_at),
        ("resolution", "resolution_state", request.resolution_warn_at, request.due_at),
    ):
        state = getattr(request, state_field)
        if state not in OPEN_CLOCK_STATES:
            continue
        if due_at <= moment:
            setattr(request, state_field, ClockState.BREACHED)
            moved.append((clock, "collab_breached", due_at))
        elif state == ClockState.RUNNING and warn_at is not None and warn_at <= moment:
            setattr(request, state_field, ClockState.WARNING)
            moved.append((clock, "collab_warning", due_at))
    return moved


def breach_due_requests(moment: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Warn at 80 % and breach at 100 % of each open request's clocks; returns how many requests moved.

    One index scan (``next_check_at``); rows another sweep holds are skipped, so nothing is reported twice.
    """
    moment = moment or now()
    with transaction.atomic():
        requests = list(CollaborationRequest.objects.filter(next_check_at__lte=moment)
                        .select_for_update(skip_locked=True, of=("self",))
                        .select_related("ticket", "ticket__owner", "department").order_by("next_check_at")[:limit])
        alerts: list[StaffAlertRequest] = []
        members: dict[int, list[User]] = {}
        for request in requests:
            moved = _due_clocks(request, moment)
            _save(request, "response_state", "resolution_state")
            for clock, type_, due_at in moved:
                _event(request, type_, None, clock=clock, due_at=_iso(due_at))
                if request.department_id not in members:
                    members[request.department_id] = _members(request.department_id)
                alerts += _alert([*members[request.department_id], request.ticket.owner], type_,
                                 request.ticket_id, BREACH_TEXT if type_ == "collab_breached" else WARNING_TEXT,
                                 _clock_values(request, clock, due_at))
        alert_staff_many(alerts)
    return len(requests)


def _clock_values(request: CollaborationRequest, clock: str, due_at: dt.datetime) -> Callable[[], dict[str, object]]:
    number, department = request.ticket.number, request.department.name
    return lambda: {"number": number, "department": department, "clock": _(CLOCK_NAMES[clock]), "due": _when(due_at)}


def breach_due_plans(moment: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """The meetings whose plan is due soon or overdue: the recorder and the ticket's owner hear of it."""
    moment = moment or now()
    with transaction.atomic():
        meetings = list(CoordinationMeeting.objects.filter(next_check_at__lte=moment)
                        .select_for_update(skip_locked=True, of=("self",))
                        .select_related("ticket", "ticket__owner", "recorded_by").order_by("next_check_at")[:limit])
        alerts: list[StaffAlertRequest] = []
        for meeting in meetings:
            if meeting.plan_due_at <= moment:
                meeting.plan_state, meeting.next_check_at, type_ = ClockState.BREACHED, None, "collab_breached"
                text = PLAN_BREACH_TEXT
            else:
                meeting.plan_state, meeting.next_check_at, type_ = ClockState.WARNING, meeting.plan_due_at, \
                    "collab_warning"
                text = PLAN_WARNING_TEXT
            meeting.save(update_fields=["plan_state", "next_check_at"])
            ticket_services.record_ticket_event(meeting.ticket, type_, actor=None, public=False, clock="plan",
                                                meeting_id=meeting.pk, due_at=_iso(meeting.plan_due_at))
            alerts += _alert([meeting.recorded_by, meeting.ticket.owner], type_, meeting.ticket_id, text,
                             _plan_values(meeting.ticket.number, meeting.plan_due_at))
        alert_staff_many(alerts)
    return len(meetings)


def _plan_values(number: str, due_at: dt.datetime) -> Callable[[], dict[str, object]]:
    return lambda: {"number": number, "due": _when(due_at)}
