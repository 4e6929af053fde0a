"""Every read of collaboration for a user.

A department member sees the requests sent to their departments, and of each only the ticket's number and
subject and the context the owner shared; staff see the requests of the tickets they may see (through
kefu.tickets.selectors). Missing and forbidden answer the same NotFound.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, Role, User
from kefu.collaboration.models import ClockState, CollaborationNote, CollaborationRequest, CoordinationMeeting
from kefu.core.errors import NotFound
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import visible_tickets

OPEN_STATES = (CollaborationRequest.State.RAISED, CollaborationRequest.State.ACCEPTED,
               CollaborationRequest.State.ASKED_BACK, CollaborationRequest.State.DELIVERED)
LEDGER_READERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def is_collaborator(actor: User | Any) -> bool:
    """Who may open the collaboration pages at all: staff and department members."""
    return bool(getattr(actor, "is_authenticated", False) and actor.is_active
                and (actor.is_staff_member or actor.role == Role.DEPARTMENT))


def visible_requests(actor: User | Any) -> QuerySet[CollaborationRequest]:
    requests = CollaborationRequest.objects.all()
    if not is_collaborator(actor):
        return requests.none()
    if actor.role == Role.DEPARTMENT:
        return requests.filter(department__in=actor.departments.values_list("pk", flat=True))
    return requests.filter(ticket__in=visible_tickets(actor).values("pk"))


def get_request_for(actor: User | Any, request_id: int) -> CollaborationRequest:
    request = (visible_requests(actor).select_related("ticket", "ticket__owner", "department", "raised_by",
                                                      "accepted_by").filter(pk=request_id).first())
    if request is None:
        raise NotFound(_("Collaboration request not found."))
    return request


def inbox(actor: User | Any, *, show: str = "open", department_id: int | None = None) -> list[CollaborationRequest]:
    """The requests this person works on, the most urgent first (open ones by their due time)."""
    requests = visible_requests(actor).select_related("ticket", "department", "raised_by")
    if show == "open":
        requests = requests.filter(state__in=OPEN_STATES).order_by("due_at", "pk")
    elif show == "overdue":
        requests = requests.filter(_overdue()).order_by("due_at", "pk")
    else:
        requests = requests.order_by("-raised_at", "-pk")
    if department_id is not None:
        requests = requests.filter(department_id=department_id)
    return list(requests[:500])


def inbox_departments(actor: User | Any) -> list[Department]:
    if not is_collaborator(actor):
        return []
    if actor.role == Role.DEPARTMENT:
        return list(actor.departments.filter(kind=Department.Kind.OTHER))
    return list(Department.objects.filter(kind=Department.Kind.OTHER))


def notes(request: CollaborationRequest) -> list[CollaborationNote]:
    return list(request.notes.select_related("author"))


def raise_targets() -> list[Department]:
    """The departments a request can go to."""
    return list(Department.objects.filter(kind=Department.Kind.OTHER, active=True))


def requests_of_ticket(ticket: Ticket) -> list[CollaborationRequest]:
    """For the ticket page (the ticket was loaded through the access layer)."""
    return list(ticket.collaboration_requests.select_related("department").order_by("-raised_at", "-pk"))


def meetings_of_ticket(ticket: Ticket) -> list[CoordinationMeeting]:
    return list(ticket.coordination_meetings.prefetch_related("plan_items", "participants"))


def get_meeting_for(actor: User | Any, meeting_id: int) -> CoordinationMeeting:
    meeting = (CoordinationMeeting.objects.filter(pk=meeting_id, ticket__in=visible_tickets(actor).values("pk"))
               .select_related("ticket").first())
    if meeting is None:
        raise NotFound(_("Meeting not found."))
    return meeting


def _overdue() -> Q:
    return Q(state__in=OPEN_STATES) & (Q(response_state=ClockState.BREACHED, responded_at__isnull=True)
                                       | Q(resolution_state=ClockState.BREACHED, delivered_at__isnull=True))


# ---------------------------------------------------------------------------------------------- the ledger


@dataclass
class DepartmentLedger:
    """One department's collaboration over a period (docs/collaboration.md defines each figure)."""

    department: Department
    received: int = 0
    open: int = 0
    response_times: list[float] = field(default_factory=list)
    resolution_times: list[float] = field(default_factory=list)
    responses_met: int = 0
    responses_judged: int = 0
    resolutions_met: int = 0
    resolutions_judged: int = 0
    overdue: list[CollaborationRequest] = field(default_factory=list)

    @property
    def median_response(self) -> dt.timedelta | None:
        return dt.timedelta(seconds=statistics.median(self.response_times)) if self.response_times else None

    @property
    def median_resolution(self) -> dt.timedelta | None:
        return dt.timedelta(seconds=statistics.median(self.resolution_times)) if self.resolution_times else None

    @property
    def response_compliance(self) -> float | None:
        return 100 * self.responses_met / self.responses_judged if self.responses_judged else None

    @property
    def resolution_compliance(self) -> float | None:
        return 100 * self.resolutions_met / self.resolutions_judged if self.resolutions_judged else None


def ledger_departments(actor: User | Any) -> list[Department]:
    """Supervisors and administrators read every department's ledger; department members their own."""
    if not is_collaborator(actor):
        return []
    if actor.role in LEDGER_READERS:
        return list(Department.objects.filter(kind=Department.Kind.OTHER))
    if actor.role == Role.DEPARTMENT:
        return list(actor.departments.filter(kind=Department.Kind.OTHER))
    return []


def ledger(actor: User | Any, start: dt.datetime, end: dt.datetime) -> list[DepartmentLedger]:
    """Per department, the requests received in [start, end): counts, median times, clock compliance;
    and every request of theirs that is overdue now, whenever it was raised. Three queries."""
    departments = ledger_departments(actor)
    rows = {d.pk: DepartmentLedger(d) for d in departments}
    received = CollaborationRequest.objects.filter(department__in=list(rows), raised_at__gte=start,
                                                   raised_at__lt=end).exclude(state=CollaborationRequest.State.CANCELLED)
    for department_id, state, raised, responded, delivered, response_state, resolution_state in received.values_list(
            "department_id", "state", "raised_at", "responded_at", "delivered_at", "response_state",
            "resolution_state"):
        row = rows[department_id]
        row.received += 1
        row.open += state in OPEN_STATES
        if responded is not None:
            row.response_times.append((responded - raised).total_seconds())
        if delivered is not None:
            row.resolution_times.append((delivered - raised).total_seconds())
        if response_state in (ClockState.MET, ClockState.BREACHED):
            row.responses_judged += 1
            row.responses_met += response_state == ClockState.MET
        if resolution_state in (ClockState.MET, ClockState.BREACHED):
            row.resolutions_judged += 1
            row.resolutions_met += resolution_state == ClockState.MET
    overdue = (CollaborationRequest.objects.filter(_overdue(), department__in=list(rows))
               .select_related("ticket").order_by("due_at", "pk"))
    for request in overdue:
        rows[request.department_id].overdue.append(request)
    return list(rows.values())
