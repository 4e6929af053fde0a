"""The inbox part of the REST API: a mail server or provider hands over raw messages (RFC 822)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router
from ninja.responses import Status as HttpStatus

from kefu.accounts.models import Role, User
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.schemas import Out
from kefu.inbox import services
from kefu.inbox.models import InboundEmail, Mailbox

router = Router(tags=["inbox"])


class InboundOut(Out):
    id: int
    duplicate: bool
    outcome: str
    state: str
    ticket: int | None


RAW_MAIL_BODY = {"requestBody": {"required": True, "content": {
    "message/rfc822": {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/inbox/email", response={202: InboundOut}, openapi_extra=RAW_MAIL_BODY,
             summary="Hand over one raw email (an MTA pipe or a provider's inbound hook)")
def receive_raw_email(request: HttpRequest, mailbox: int | None = None) -> HttpStatus:
    """The body is the message exactly as received. It is stored before the answer; 202 means it is safe
    to delete. Sending the same message again is harmless (`duplicate: true`). Administrators only."""
    user: User = request.user  # type: ignore[assignment]
    if user.role != Role.ADMIN:
        raise PermissionDenied(_("Only an administrator's token may hand over raw email."))
    raw = request.body
    if not raw.strip():
        raise DomainError(_("The request body must be the raw email message."), code="empty_message")
    target = None
    if mailbox is not None:
        target = Mailbox.objects.filter(pk=mailbox).first()
        if target is None:
            raise DomainError(_("There is no such mailbox."), code="unknown_mailbox")
    received = services.receive_email(raw, source=InboundEmail.Source.HTTP, mailbox=target, actor=user,
                                      processing_now=True)
    outcome = services.Outcome.ALREADY_DONE
    if not received.duplicate:
        outcome = services.process_email(received.inbound)  # settles the row it is given
    inbound = received.inbound
    return HttpStatus(202, InboundOut(id=inbound.pk, duplicate=received.duplicate, outcome=outcome,
                                      state=inbound.state, ticket=inbound.ticket_id))
