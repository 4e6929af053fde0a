"""Reads of service-level clocks for a person; tickets are filtered through the access layer."""

from __future__ import annotations

from collections.abc import Iterable

from kefu.accounts.models import User
from kefu.sla.models import OPEN_STATES, TICKING, TicketClock, TicketSla
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import visible_tickets

State, Kind = TicketClock.State, TicketClock.Kind
CUSTOMER_PROMISES = (Kind.FIRST_RESPONSE, Kind.UPDATE)


def next_due_by_ticket(ticket_ids: Iterable[int]) -> dict[int, TicketClock]:
    """For a page of tickets (already visible to the reader): each one's most urgent open clock."""
    nearest: dict[int, TicketClock] = {}
    clocks = TicketClock.objects.filter(ticket_id__in=list(ticket_ids), state__in=OPEN_STATES)
    for clock in sorted(clocks, key=lambda c: (c.state == State.PAUSED, c.due_at or c.started_at)):
        nearest.setdefault(clock.ticket_id, clock)
    return nearest


def clocks_of(ticket: Ticket) -> list[TicketClock]:
    """Every clock of a ticket the reader has already been allowed to see, newest last."""
    return list(TicketClock.objects.filter(ticket=ticket).order_by("started_at", "id"))


def policy_of(ticket: Ticket) -> TicketSla | None:
    return TicketSla.objects.filter(ticket=ticket).first()


def at_risk(actor: User, limit: int = 100) -> list[TicketClock]:
    """Running clocks of the tickets the actor may see, least time left first."""
    return list(
        TicketClock.objects.filter(state__in=TICKING, ticket__in=visible_tickets(actor))
        .select_related("ticket__customer", "ticket__owner", "ticket__team")
        .order_by("due_at")[:limit]
    )


def customer_promise(ticket: Ticket) -> TicketClock | None:
    """What the customer is told: when the next reply or update is due (running clocks only)."""
    return (TicketClock.objects.filter(ticket=ticket, state__in=TICKING, kind__in=CUSTOMER_PROMISES)
            .order_by("due_at").first())
