"""Reads for the inbox. Callers have already passed the ticket access layer for the messages they ask about."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kefu.inbox.models import InboundEmail


def authentication_of_messages(message_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Sender authentication (verdict, SPF, DKIM, DMARC) of the emails behind these ticket messages."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = InboundEmail.objects.filter(ticket_message_id__in=ids).values_list("ticket_message_id", "authentication")
    return {message_id: auth for message_id, auth in rows if message_id is not None}


def held_for_ticket(ticket_id: int) -> list[InboundEmail]:
    """Email held for review on this ticket (a stranger on the thread, or failed sender authentication)."""
    return list(InboundEmail.objects.filter(ticket_id=ticket_id, state=InboundEmail.State.HELD)
                .defer("raw").order_by("received_at"))


def held_email_of_ticket(ticket_id: int, inbound_id: int) -> InboundEmail | None:
    return (InboundEmail.objects.filter(pk=inbound_id, ticket_id=ticket_id, state=InboundEmail.State.HELD)
            .defer("raw").first())


def email_of_message(ticket_id: int, message_id: int) -> InboundEmail | None:
    """The stored original of a ticket's message that came by email (the caller has checked the ticket)."""
    return InboundEmail.objects.filter(ticket_id=ticket_id, ticket_message_id=message_id).first()
