"""What other systems receive about a ticket event (outgoing webhooks)."""

from __future__ import annotations

from kefu.notifications.services import WebhookEvent
from kefu.tickets.models import Ticket, TicketEvent


def webhook_event(ticket: Ticket, event: TicketEvent) -> WebhookEvent:
    # Events written without ids coming back (intake's plain insert, the SLA sweep) are identified by the
    # ticket, type and moment.
    key = f"event.{event.pk}" if event.pk else f"ticket.{ticket.pk}.{event.type}.{event.at.timestamp()}"
    return WebhookEvent(key=key, type=event.type, ticket_id=ticket.pk, payload={
        "ticket": {"id": ticket.pk, "number": ticket.number, "subject": ticket.subject, "status": ticket.status,
                   "priority": ticket.priority, "channel": ticket.channel, "owner_id": ticket.owner_id,
                   "team_id": ticket.team_id, "customer_id": ticket.customer_id},
        "actor_id": event.actor_id, "public": event.public, "at": event.at.isoformat(), "details": event.payload,
    })
