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
