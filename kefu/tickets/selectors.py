"""Every read of tickets, messages and attachments for a user: the access layer.

``visible_tickets(actor)`` is the only way to start a ticket query for a person, and
``get_ticket_for`` answers missing and forbidden with the same NotFound.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, F, Func, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, Role, User
from kefu.core import textsearch
from kefu.core.errors import DomainError, NotFound
from kefu.core.shortcache import short_lived
from kefu.tickets.models import Attachment, Category, Message, Ticket, TicketEvent


def visible_tickets(actor: User | Any) -> QuerySet[Ticket]:
    """Tickets this person may see: all for supervisors, admins and QA; their teams', their own and the
    unassigned pool for agents; their own for customers; none for anybody else."""
    tickets = Ticket.objects.all()
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return tickets.none()
    if actor.sees_all_tickets:
        return tickets
    if actor.role == Role.AGENT:
        teams = list(actor.departments.values_list("pk", flat=True))
        # Unary plus keeps SQLite from answering the OR through the owner and team indexes and then
        # sorting every visible row: an agent sees most tickets, so walking the newest first and
        # stopping at a page is far cheaper (PostgreSQL plans it that way by itself).
        tickets = tickets.alias(_owner=_unindexed("owner_id"), _team=_unindexed("team_id"))
        return tickets.filter(Q(_owner=actor.pk) | Q(_team__in=teams) | Q(_team__isnull=True))
    if actor.role == Role.CUSTOMER:
        return tickets.filter(customer__user=actor)
    return tickets.none()


def _unindexed(column: str) -> Func:
    return Func(F(column), template="+%(expressions)s", output_field=BigIntegerField())


def get_ticket_for(actor: User | Any, ticket_id: int | str, *, for_update: bool = False) -> Ticket:
    try:
        pk = int(str(ticket_id).lstrip("#"))
    except ValueError:
        raise NotFound(_("Ticket not found.")) from None
    tickets = visible_tickets(actor).select_related("customer", "owner", "team", "category")
    if for_update:
        tickets = tickets.select_for_update(of=("self",))
    ticket = tickets.filter(pk=pk).first()
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    return ticket


def get_ticket_by_tracking_token(token: str, *, for_update: bool = False) -> Ticket:
    """The tracking link: its token is the bearer secret, no account needed."""
    if not token or len(token) > 64:
        raise NotFound(_("Ticket not found."))
    tickets = Ticket.objects.select_related("customer", "customer__user", "owner", "category")
    if for_update:
        tickets = tickets.select_for_update(of=("self",))
    ticket = tickets.filter(tracking_token=token).first()
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    return ticket


def is_staff_reader(actor: User | Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.is_staff_member)


def visible_messages(actor: User | Any, ticket: Ticket) -> QuerySet[Message]:
    """The thread of a ticket the actor may see; customers never see internal notes."""
    messages = Message.objects.filter(ticket=ticket).select_related("author").prefetch_related("attachments")
    if not is_staff_reader(actor):
        messages = messages.exclude(kind=Message.Kind.NOTE)
    return messages.order_by("created_at", "id")


def get_attachment_for(actor: User | Any, attachment_id: int, *, ticket: Ticket | None = None) -> Attachment:
    """An attachment through its message and ticket; notes' files are staff-only."""
    attachments = Attachment.objects.select_related("message")
    if ticket is not None:
        attachments = attachments.filter(message__ticket=ticket)
    else:
        attachments = attachments.filter(message__ticket__in=visible_tickets(actor))
    if not is_staff_reader(actor):
        attachments = attachments.exclude(message__kind=Message.Kind.NOTE)
    attachment = attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("File not found."))
    return attachment


def timeline(actor: User | Any, ticket: Ticket) -> list[TicketEvent]:
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")
    if not is_staff_reader(actor):
        events = events.filter(public=True)
    return list(events)


def customer_history(actor: User | Any, ticket: Ticket, limit: int = 10) -> list[Ticket]:
    """The customer's other tickets, as far as this actor may see them: what a line of the list shows."""
    return list(
        visible_tickets(actor)
        .filter(customer_id=ticket.customer_id)
        .exclude(pk=ticket.pk)
        .only("id", "subject", "status", "created_at")
        .order_by("-id")[:limit]
    )


def assignable_agents() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.SUPERVISOR, Role.ADMIN]).order_by(
        "display_name", "username"
    )


def support_teams() -> QuerySet[Department]:
    return Department.objects.filter(active=True, kind=Department.Kind.SUPPORT)


# The ticket pages' pickers read these on every page, and they change rarely: each process keeps them for a
# few seconds (kefu.core.shortcache; a save in this process forgets them, see kefu.tickets.apps). What is
# picked is checked against the database when the form comes back.
agent_choices = short_lived(lambda: list(assignable_agents()))
team_choices = short_lived(lambda: list(support_teams()))
category_choices = short_lived(lambda: list(active_categories()))


# ---------------------------------------------------------------------------------------------- the list


SORTS = {
    "newest": ("-id",),
    "oldest": ("id",),
    "updated": ("-updated_at", "-id"),
    "priority": ("priority_rank", "-id"),
}


# The moments a list's date range may read: creation, the first response, the (latest) resolution.
DATED_COLUMNS = {"created": "created_at", "first_response": "first_response_at", "resolved": "resolved_at"}


@dataclass
class TicketFilters:
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    category: list[int] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)
    unassigned: bool = False
    team: list[int] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    customer: int | None = None
    # The range [created_from, created_to) reads the moment ``dated`` names (DATED_COLUMNS).
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    dated: str = "created"
    q: str = ""
    sort: str = "newest"


@dataclass
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None
    sort: str


def _apply_filters(tickets: QuerySet[Ticket], f: TicketFilters, *, before_id: int | None = None) -> QuerySet[Ticket]:
    if f.status:
        tickets = tickets.filter(status__in=f.status)
    if f.priority:
        tickets = tickets.filter(priority__in=f.priority)
    if f.category:
        tickets = tickets.filter(category_id__in=f.category)
    if f.channel:
        tickets = tickets.filter(channel__in=f.channel)
    if f.owner and f.unassigned:
        tickets = tickets.filter(Q(owner_id__in=f.owner) | Q(owner__isnull=True))
    elif f.owner:
        tickets = tickets.filter(owner_id__in=f.owner)
    elif f.unassigned:
        tickets = tickets.filter(owner__isnull=True)
    if f.team:
        tickets = tickets.filter(team_id__in=f.team)
    if f.tier:
        tickets = tickets.filter(customer__tier__in=f.tier)
    for tag in f.tags:
        tickets = tickets.filter(tags__name=tag)
    if f.customer:
        tickets = tickets.filter(customer_id=f.customer)
    column = DATED_COLUMNS.get(f.dated, "created_at")
    if f.created_from:
        tickets = tickets.filter(**{f"{column}__gte": f.created_from})
    if f.created_to:
        tickets = tickets.filter(**{f"{column}__lt": f.created_to})
    if f.q.strip():
        window = before_id is not None or f.sort in {"newest", ""}
        tickets = tickets.filter(_search_condition(f.q, newest_below=before_id if window else None,
                                                   windowed=window))
    return tickets


SEARCH_WINDOW = 5000
"""How many of the newest text matches one page of a newest-first search looks at (see list_tickets)."""


def _search_condition(query: str, *, windowed: bool = False, newest_below: int | None = None) -> Q:
    """Match by ticket number, or by every search token (subject, messages, customer).

    ``windowed``: only the SEARCH_WINDOW newest matches (below ``newest_below``) are candidates, so a
    word found in most tickets costs a bounded scan instead of a set as large as the table.
    """
    condition = Q(pk__in=[])
    stripped = query.strip().lstrip("#")
    if stripped.isdigit() and len(stripped) < 19:
        condition |= Q(pk=int(stripped))
        if query.strip().startswith("#"):
            return condition  # "#123" means that ticket, not every text containing 123
    if not textsearch.query_terms(query):
        return condition
    return condition | _text_condition(query, windowed=windowed, newest_below=newest_below)


def _text_condition(query: str, *, windowed: bool, newest_below: int | None) -> Q:
    if windowed and connection.vendor == "postgresql":
        # Asked on its own, PostgreSQL plans the window well (GIN bitmap for rare words, a short backward
        # walk for common ones); as a subquery of the list it walks backwards for any word and reads every
        # row when the word is rare (6.5 s at 1M tickets for a word with no match). So: ids first.
        ids = _window_ids(query, newest_below)
        expression = RawSQL(f"{Ticket._meta.db_table}.id = ANY(%s)", [ids],  # noqa: S611 (bound parameter)
                            output_field=BooleanField())
        return Q(expression)
    return Q(pk__in=_text_matches(query, windowed=windowed, newest_below=newest_below))


def _window_ids(query: str, newest_below: int | None) -> list[int]:
    window = _text_matches(query, windowed=True, newest_below=newest_below)
    with connection.cursor() as cursor:
        cursor.execute(window.sql, window.params)
        return [row[0] for row in cursor.fetchall()]


def _text_matches(query: str, *, windowed: bool, newest_below: int | None) -> RawSQL:
    if connection.vendor == "postgresql":
        sql = "SELECT ticket_id AS id FROM tickets_ticketsearchdocument WHERE tsv @@ to_tsquery('simple', %s)"
        params: list[Any] = [textsearch.tsquery(query)]
        column = "ticket_id"
    else:
        sql = "SELECT rowid AS id FROM tickets_ticket_fts WHERE tickets_ticket_fts MATCH %s"
        params = [textsearch.fts5_query(query)]
        column = "rowid"
    if windowed:
        if newest_below is not None:
            sql += f" AND {column} < %s"
            params.append(newest_below)
        sql += f" ORDER BY {column} DESC LIMIT {SEARCH_WINDOW}"
    return RawSQL(sql, params)  # noqa: S611 (constant SQL, bound parameters)


def _encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, dt.datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, json.JSONDecodeError):
        raise DomainError(_("The page link is not valid any more."), code="invalid_cursor") from None
    if not isinstance(values, list):
        raise DomainError(_("The page link is not valid any more."), code="invalid_cursor")
    return values


def _priority_rank() -> Any:
    from django.db.models import Case, IntegerField, Value, When

    from kefu.tickets.models import PRIORITY_RANK

    return Case(*[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()], output_field=IntegerField())


def _after_cursor(tickets: QuerySet[Ticket], sort: str, values: list[Any]) -> QuerySet[Ticket]:
    """Keyset pagination: rows strictly after the last row shown, in the sort order."""
    try:
        if sort == "newest":
            return tickets.filter(pk__lt=int(values[0]))
        if sort == "oldest":
            return tickets.filter(pk__gt=int(values[0]))
        if sort == "updated":
            moment = dt.datetime.fromisoformat(values[0])
            return tickets.filter(Q(updated_at__lt=moment) | Q(updated_at=moment, pk__lt=int(values[1])))
        rank, pk = int(values[0]), int(values[1])
        return tickets.filter(Q(priority_rank__gt=rank) | Q(priority_rank=rank, pk__lt=pk))
    except (IndexError, TypeError, ValueError):
        raise DomainError(_("The page link is not valid any more."), code="invalid_cursor") from None


def _cursor_of(ticket: Ticket, sort: str) -> str:
    if sort in {"newest", "oldest"}:
        return _encode_cursor([ticket.pk])
    if sort == "updated":
        return _encode_cursor([ticket.updated_at, ticket.pk])
    return _encode_cursor([ticket.priority_rank, ticket.pk])  # type: ignore[attr-defined]


def list_tickets(actor: User | Any, filters: TicketFilters, *, cursor: str | None = None,
                 page_size: int = 25) -> TicketPage:
    """One page of the ticket list, with what the list shows already loaded (no N+1)."""
    sort = filters.sort if filters.sort in SORTS else "newest"
    position = _decode_cursor(cursor) if cursor else None
    before_id = _newest_cursor_id(position) if sort == "newest" and position else None
    tickets = _apply_filters(visible_tickets(actor), replace(filters, sort=sort), before_id=before_id)
    if sort == "priority":
        tickets = tickets.annotate(priority_rank=_priority_rank())
    if position:
        tickets = _after_cursor(tickets, sort, position)
    rows = list(
        tickets.order_by(*SORTS[sort])
        .select_related("customer", "owner", "team", "category")
        .prefetch_related("tags")[: page_size + 1]
    )
    next_cursor = _cursor_of(rows[page_size - 1], sort) if len(rows) > page_size else None
    if next_cursor is None and sort == "newest" and filters.q.strip():
        next_cursor = _continue_search(filters.q, before_id)
    return TicketPage(tickets=rows[:page_size], next_cursor=next_cursor, sort=sort)


def _newest_cursor_id(position: list[Any]) -> int:
    try:
        return int(position[0])
    except (IndexError, TypeError, ValueError):
        raise DomainError(_("The page link is not valid any more."), code="invalid_cursor") from None


def _continue_search(query: str, before_id: int | None) -> str | None:
    """A short page of a windowed search is not the end if the window was full: go on below it."""
    if not textsearch.query_terms(query):
        return None  # nothing searchable in it ("]", "!!"): a ticket number at most, no text window
    ids = _window_ids(query, before_id)
    return _encode_cursor([min(ids)]) if len(ids) >= SEARCH_WINDOW else None


def active_categories() -> QuerySet[Category]:
    """The categories a new or edited ticket can be filed under."""
    return Category.objects.filter(active=True).order_by("position", "slug")
