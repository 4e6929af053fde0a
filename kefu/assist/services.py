"""Writes for agent assist: reply templates (话术) kept by supervisors, and recording that a reply used one
(what A/B experiments are measured by)."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.assist.models import ReplyTemplate, TemplateUse
from kefu.assist.selectors import VARIABLES
from kefu.core.audit import record_audit
from kefu.core.errors import DomainError, PermissionDenied
from kefu.tickets.models import Category, Ticket

EDITABLE_FIELDS = ("name", "locale", "body", "category", "keywords", "experiment", "variant", "active")
_VARIABLE = re.compile(r"\{(\w*)\}")


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


def _require_template_editor(actor: User) -> None:
    if actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise PermissionDenied(_("Only supervisors and administrators edit reply templates."))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {name: values[name] for name in EDITABLE_FIELDS if name in values}
    for name in ("name", "body", "keywords", "experiment", "variant"):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
    if not cleaned.get("name"):
        raise DomainError(_("A template needs a name."), code="invalid")
    if not cleaned.get("body"):
        raise DomainError(_("A template needs its text."), code="invalid")
    if cleaned.get("locale") not in ReplyTemplate.Locale.values:
        raise DomainError(_("Choose the template's language."), code="invalid")
    unknown = sorted({name for name in _VARIABLE.findall(cleaned["body"]) if name not in VARIABLES})
    if unknown:
        raise DomainError(_("Unknown variables: %(names)s. Use %(known)s.") % {
            "names": ", ".join("{" + name + "}" for name in unknown),
            "known": ", ".join("{" + name + "}" for name in VARIABLES)}, code="invalid")
    if bool(cleaned.get("experiment")) != bool(cleaned.get("variant")):
        raise DomainError(_("An A/B variant needs both the experiment's name and the variant's label."),
                          code="invalid")
    category = cleaned.get("category")
    if category is not None and not isinstance(category, Category):
        raise DomainError(_("Unknown category."), code="invalid")
    return cleaned


@transaction.atomic
def create_reply_template(*, actor: User, **values: Any) -> ReplyTemplate:
    """A new reply template; variables in braces must be ones the ticket page can fill in."""
    _require_template_editor(actor)
    template = ReplyTemplate.objects.create(**_clean(values))
    record_audit("assist.template_created", template, actor=actor,
                 changes={"name": template.name, "locale": template.locale})
    return template


@transaction.atomic
def update_reply_template(template: ReplyTemplate, *, actor: User, **values: Any) -> ReplyTemplate:
    """Change a template in place; its past uses (and an experiment's outcomes) stay with it."""
    _require_template_editor(actor)
    locked = ReplyTemplate.objects.select_for_update().get(pk=template.pk)
    cleaned = _clean({**{name: getattr(locked, name) for name in EDITABLE_FIELDS}, **values})
    changes = {name: str(value) for name, value in cleaned.items() if getattr(locked, name) != value}
    for name, value in cleaned.items():
        setattr(locked, name, value)
    if changes:
        locked.save(update_fields=list(changes))
        record_audit("assist.template_updated", locked, actor=actor, changes=changes)
    return locked
