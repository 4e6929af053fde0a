"""Writes for agent assist: recording that a reply used a template (what A/B experiments are measured by)."""

from __future__ import annotations

from kefu.accounts.models import User
from kefu.assist.models import ReplyTemplate, TemplateUse
from kefu.tickets.models import Ticket


def record_template_use(template_id: str | int | None, ticket: Ticket, *, actor: User) -> TemplateUse | None:
    """The reply the agent sent on this ticket began from the template; once per template and ticket.
    An unknown or inactive template id is ignored (the reply itself has been sent)."""
    if not str(template_id or "").isdigit():
        return None
    template = ReplyTemplate.objects.filter(pk=int(str(template_id)), active=True).first()
    if template is None:
        return None
    use, _created = TemplateUse.objects.get_or_create(template=template, ticket=ticket, defaults={"agent": actor})
    return use
