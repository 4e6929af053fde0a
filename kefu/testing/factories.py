"""Test data built through the real services, so tests start from states users can reach."""

from __future__ import annotations

import itertools
from typing import Any

from kefu.accounts.models import Department, Role, User
from kefu.accounts.services import create_staff_user
from kefu.customers.models import Customer
from kefu.customers.services import create_customer
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)


def department(name: str | None = None, kind: str = Department.Kind.SUPPORT) -> Department:
    return Department.objects.create(name=name or f"Team {next(_seq)}", kind=kind)


def staff(role: str = Role.AGENT, *, teams: tuple[Department, ...] = (), name: str | None = None) -> User:
    n = next(_seq)
    return create_staff_user(
        username=f"{role}{n}", email=f"{role}{n}@staff.example", display_name=name or f"{role.title()} {n}",
        role=role, password=PASSWORD, departments=teams, actor=None,
    )


def customer(name: str | None = None, **kwargs: Any) -> Customer:
    n = next(_seq)
    kwargs.setdefault("email", f"customer{n}@example.com")
    return create_customer(name=name or f"Customer {n}", actor=None, password=PASSWORD, **kwargs)


def ticket(
    customer_: Customer | None = None, *, subject: str = "A question about my account",
    description: str = "Please get back to me.",
    auto_assign: bool = False, **kwargs: Any,
) -> Ticket:
    customer_ = customer_ or customer()
    return ticket_services.open_ticket(
        customer=customer_, subject=subject, description=description, actor=customer_.user,
        auto_assign=auto_assign, **kwargs,
    )


def worked_ticket(owner: User, **kwargs: Any) -> Ticket:
    """A ticket accepted by ``owner``."""
    t = ticket(**kwargs)
    ticket_services.accept_ticket(t, actor=owner)
    return t


def article(key: str | None = None, *, texts: dict[str, tuple[str, str]] | None = None,
            questions: dict[str, list[str]] | None = None, **kwargs: Any) -> Any:
    """A published article; `texts` maps a language to (title, Markdown body)."""
    from kefu.knowledge import services as knowledge

    created = knowledge.create_article(key=key or f"article-{next(_seq)}", actor=None, **kwargs)
    for locale, (title, body) in (texts or {"en": ("How to ask for a refund", "Open the order and ask.")}).items():
        knowledge.save_draft(created, locale=locale, title=title, body=body,
                             questions=(questions or {}).get(locale, []), actor=None)
        knowledge.publish(created, locale=locale, actor=None)
    return created
