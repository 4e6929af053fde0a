"""How our emails name their ticket, so that customers' replies find their way back.

Every mail about ticket N carries `References: <ticket.N.SIG@host>` and, when a reply address is
configured, `Reply-To: support+N-SIG@domain`. SIG is a keyed hash of N: a number alone, guessed or
copied from another ticket, threads nothing.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_THREAD_ID = re.compile(r"^<ticket\.(\d{1,18})\.([0-9a-f]{16})@[^<>@\s]+>$")
_NOTIFICATION_ID = re.compile(r"^<notification\.(\d{1,18})\.(\d{14})@[^<>@\s]+>$")


def _signature(ticket_id: int) -> str:
    return salted_hmac("kefu.mail-thread", str(ticket_id)).hexdigest()[:16]


def _signed(ticket_id: str, signature: str) -> int | None:
    number = int(ticket_id)
    return number if constant_time_compare(_signature(number), signature) else None


def mail_host() -> str:
    return urlsplit(settings.PUBLIC_BASE_URL).hostname or "kefu.localhost"


def ticket_thread_id(ticket_id: int) -> str:
    """The Message-ID every mail about the ticket refers to (the thread's root)."""
    return f"<ticket.{ticket_id}.{_signature(ticket_id)}@{mail_host()}>"


def ticket_reply_address(ticket_id: int) -> str:
    """The ticket's own reply address (plus addressing), or "" when no reply address is configured."""
    base = settings.KEFU["REPLY_ADDRESS"]
    if not base or "@" not in base:
        return ""
    local, domain = base.rsplit("@", 1)
    return f"{local}+{ticket_id}-{_signature(ticket_id)}@{domain}"


def ticket_from_thread_id(message_id: str) -> int | None:
    match = _THREAD_ID.match(message_id)
    return _signed(match.group(1), match.group(2)) if match else None


def ticket_from_reply_address(address: str) -> int | None:
    base = settings.KEFU["REPLY_ADDRESS"]
    if not base or "@" not in base:
        return None
    local, domain = base.lower().rsplit("@", 1)
    match = re.fullmatch(rf"{re.escape(local)}\+(\d{{1,18}})-([0-9a-f]{{16}})@{re.escape(domain)}", address.lower())
    return _signed(match.group(1), match.group(2)) if match else None


def notification_from_message_id(message_id: str) -> tuple[int, str] | None:
    """(notification pk, its creation stamp) from one of our notification Message-IDs."""
    match = _NOTIFICATION_ID.match(message_id)
    return (int(match.group(1)), match.group(2)) if match else None
