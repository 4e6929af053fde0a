"""Keeping the roll-ups current: the event log is read in order, a batch at a time, and each event adds to the
day's counters (docs/metrics.md defines what each counts).

The roll-up runs seconds behind the events (``LAG``) so that a transaction still writing earlier events is not
overtaken; it is idempotent per batch (the cursor moves in the same transaction as the counters). A ticket's
breakdown values are read when its event is rolled up, seconds after it happened.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from kefu.analytics.models import Fact, RollupCursor, TicketFacts
from kefu.bot.models import Conversation
from kefu.chat.models import ChatSession
from kefu.core.clock import now
from kefu.customers.models import Channel
from kefu.tickets.models import Category, Ticket, TicketEvent
from kefu.tickets.states import ACTIVE

DIMENSIONS = ("channel", "category", "team", "agent", "tier", "priority")
LAG = dt.timedelta(seconds=5)
BATCH = 2000
# Upper bounds (seconds) of the duration buckets medians and percentiles are read from; the last is open.
DURATION_BUCKETS = (60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 48 * 3600, 72 * 3600,
                    7 * 86400, 14 * 86400, 30 * 86400)
REPEAT_DAYS = 7  # a new ticket within this many days of the customer's last closure is a repeat contact
SECOND_COMPLAINT_DAYS = 30  # a complaint within this many days of the customer's previous one is a second one
SATISFIED = 4  # CSAT counts answers of 4 and 5 to "overall" (kefu.feedback)
PROMOTER, DETRACTOR = 9, 6

Dims = dict[str, str]
Key = tuple[dt.date, str, str, str]


def dims_of(ticket: Ticket) -> Dims:
    return {"channel": ticket.channel, "category": str(ticket.category_id or ""), "team": str(ticket.team_id or ""),
            "agent": str(ticket.owner_id or ""), "tier": ticket.customer.tier, "priority": ticket.priority}


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def bucket_of(seconds: float) -> int:
    return bisect.bisect_left(DURATION_BUCKETS, seconds)


class Deltas:
    """Counter changes of one batch, summed before they are written (one row per day, dimension, value, metric)."""

    def __init__(self) -> None:
        self.rows: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0])

    def add(self, day: dt.date, dims: Dims, metric: str, n: int = 1, total: float = 0.0) -> None:
        for dimension, value in (("all", ""), *dims.items()):
            row = self.rows[(day, dimension, value, metric)]
            row[0] += n
            row[1] += total

    def add_duration(self, day: dt.date, dims: Dims, metric: str, seconds: float) -> None:
        self.add(day, dims, metric, 1, seconds)
        self.add(day, dims, f"{metric}_b{bucket_of(seconds):02d}")

    def write(self) -> None:
        table = Fact._meta.db_table
        sql = (f"INSERT INTO {table} (day, dimension, value, metric, n, total) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608 (the model's own table name)
               f"ON CONFLICT (dimension, metric, day, value) DO UPDATE SET n = {table}.n + excluded.n, "
               f"total = {table}.total + excluded.total")
        params = [(day, dimension, value, metric, int(n), float(total))
                  for (day, dimension, value, metric), (n, total) in self.rows.items() if n or total]
        if params:
            with connection.cursor() as cursor:
                cursor.executemany(sql, params)


def roll_up(limit: int = BATCH) -> int:
    """Roll up the next batch of events; returns how many were read (0: up to date)."""
    with transaction.atomic():
        cursor, _created = RollupCursor.objects.select_for_update().get_or_create(name="events")
        horizon = now() - LAG
        events = list(TicketEvent.objects.filter(pk__gt=cursor.last_id).order_by("pk")
                      .select_related("ticket__customer")[:limit])
        settled = list(_until(events, horizon))
        if not settled:
            return 0
        facts, history = _facts_for(settled), CustomerHistory.of(settled)
        deltas = Deltas()
        for event in settled:
            apply_event(event, facts, deltas, history)
        deltas.write()
        TicketFacts.objects.bulk_create(list(facts.values()), update_conflicts=True, unique_fields=["ticket"],
                                        update_fields=[f.name for f in TicketFacts._meta.concrete_fields
                                                       if f.name != "ticket"])
        cursor.last_id, cursor.updated_at = settled[-1].pk, now()
        cursor.save(update_fields=["last_id", "updated_at"])
    return len(settled)


def roll_up_all(limit: int = BATCH) -> int:
    """Bring every roll-up up to date (the events, the chats, the assistant's conversations)."""
    done = 0
    for roll in (roll_up, roll_up_chats, roll_up_bot):
        while read := roll(limit):
            done += read
    return done


def _until(events: list[TicketEvent], horizon: dt.datetime) -> Iterable[TicketEvent]:
    for event in events:
        if event.at > horizon:
            return
        yield event


def _facts_for(events: list[TicketEvent]) -> dict[int, TicketFacts]:
    ids = {event.ticket_id for event in events}
    facts = {f.ticket_id: f for f in TicketFacts.objects.filter(ticket_id__in=ids)}
    for event in events:
        if event.ticket_id not in facts:  # a ticket older than the roll-up, or its "created" event
            ticket = event.ticket
            facts[ticket.pk] = TicketFacts(ticket=ticket, created_day=local_day(ticket.created_at),
                                           created_dims=dims_of(ticket))
    return facts


@dataclass(frozen=True)
class CustomerHistory:
    """The earlier tickets of the customers whose tickets a batch creates: what repeat contacts and second
    complaints are judged by (one query per batch, not one per ticket)."""

    complaint_categories: frozenset[int]
    tickets: dict[int, list[tuple[int, dt.datetime, dt.datetime | None, int | None]]]

    @classmethod
    def of(cls, events: list[TicketEvent]) -> CustomerHistory:
        created = [event.ticket for event in events if event.type == "created"]
        if not created:
            return cls(frozenset(), {})
        since = min(t.created_at for t in created) - dt.timedelta(days=max(REPEAT_DAYS, SECOND_COMPLAINT_DAYS))
        rows = (Ticket.objects.filter(customer_id__in={t.customer_id for t in created})
                .filter(Q(created_at__gte=since) | Q(closed_at__gte=since))
                .values_list("customer_id", "pk", "created_at", "closed_at", "category_id"))
        tickets: dict[int, list[tuple[int, dt.datetime, dt.datetime | None, int | None]]] = defaultdict(list)
        for customer_id, pk, created_at, closed_at, category_id in rows:
            tickets[customer_id].append((pk, created_at, closed_at, category_id))
        complaints = Category.objects.filter(Q(slug="complaint") | Q(parent__slug="complaint"))
        return cls(frozenset(complaints.values_list("pk", flat=True)), dict(tickets))

    def is_repeat_contact(self, ticket: Ticket) -> bool:
        since = ticket.created_at - dt.timedelta(days=REPEAT_DAYS)
        return any(pk != ticket.pk and closed is not None and since <= closed < ticket.created_at
                   for pk, _created, closed, _category in self.tickets.get(ticket.customer_id, ()))

    def is_second_complaint(self, ticket: Ticket) -> bool:
        since = ticket.created_at - dt.timedelta(days=SECOND_COMPLAINT_DAYS)
        return any(pk != ticket.pk and category in self.complaint_categories and since <= created < ticket.created_at
                   for pk, created, _closed, category in self.tickets.get(ticket.customer_id, ()))


def apply_event(event: TicketEvent, facts: dict[int, TicketFacts], deltas: Deltas,
                history: CustomerHistory | None = None) -> None:
    ticket, p = event.ticket, event.payload or {}
    f = facts[ticket.pk]
    day, dims = local_day(event.at), dims_of(ticket)
    match event.type:
        case "created":
            f.created_day, f.created_dims = day, dims
            deltas.add(day, dims, "created")
            deltas.add(day, dims, f"arrival_h{timezone.localtime(event.at).hour:02d}")
            _created_history(ticket, day, dims, history or CustomerHistory.of([event]), deltas)
        case "replied" if p.get("first_response"):
            deltas.add_duration(day, dims, "first_response", (event.at - ticket.created_at).total_seconds())
        case "customer_message":
            f.customer_messages += 1
            if p.get("channel") and p.get("channel") != p.get("began_on") and not f.switched_channel:
                f.switched_channel = True
                deltas.add(f.created_day, f.created_dims, "channel_switch")
        case "transferred" if not f.transferred:
            f.transferred = True
            deltas.add(f.created_day, f.created_dims, "transferred")
        case "escalated" if not f.escalated:
            f.escalated = True
            deltas.add(f.created_day, f.created_dims, "escalated")
        case "status_changed":
            _status_changed(event, ticket, f, deltas)
        case "call" if p.get("phase") == "ended" and p.get("duration_s"):
            deltas.add(day, dims, "handled_call", 1, float(p["duration_s"]))  # talk time: AHT of calls
        case "sla_met" | "sla_breached" if p.get("clock"):
            # Met: the moment it was met; breached: the sweep's moment, seconds after the due time, with the team
            # and owner of that moment (an escalation may have moved the ticket since).
            if "team" in p:
                dims = dims | {"team": str(p["team"] or ""), "agent": str(p.get("owner") or "")}
            deltas.add(day, dims, f"{event.type}_{p['clock']}")
        case "survey_answered":
            _survey(day, dims, p, deltas)
        case "qa_reviewed" if not p.get("calibration"):
            deltas.add(day, dims, "qa_reviews")
            if p.get("passed"):
                deltas.add(day, dims, "qa_passed")


def _created_history(ticket: Ticket, day: dt.date, dims: Dims, history: CustomerHistory, deltas: Deltas) -> None:
    if history.is_repeat_contact(ticket):
        deltas.add(day, dims, "repeat_contact")
    if ticket.category_id in history.complaint_categories:
        deltas.add(day, dims, "complaints")
        if history.is_second_complaint(ticket):
            deltas.add(day, dims, "second_complaint")


def _status_changed(event: TicketEvent, ticket: Ticket, f: TicketFacts, deltas: Deltas) -> None:
    action = (event.payload or {}).get("action")
    if action == "resolve":
        _retract(f, deltas)
        seconds = (event.at - ticket.created_at).total_seconds()
        metrics: dict[str, list[float]] = {"resolved": [1, seconds], f"resolved_b{bucket_of(seconds):02d}": [1, 0]}
        if f.reopens:
            metrics["reopened"] = [1, 0]
        elif f.customer_messages == 1:
            metrics["fcr"] = [1, 0]
        f.resolved_day, f.resolved_dims, f.resolution_metrics = local_day(event.at), dims_of(ticket), metrics
        for metric, (n, total) in metrics.items():
            deltas.add(f.resolved_day, f.resolved_dims, metric, int(n), total)
    elif action in {"object", "reopen"}:
        f.reopens += 1
        _retract(f, deltas)


def _retract(f: TicketFacts, deltas: Deltas) -> None:
    """Take back the ticket's latest resolution: it is counted at its newest one only."""
    if f.resolved_day is None:
        return
    for metric, (n, total) in f.resolution_metrics.items():
        deltas.add(f.resolved_day, f.resolved_dims, metric, -int(n), -total)
    f.resolved_day, f.resolved_dims, f.resolution_metrics = None, {}, {}


def _survey(day: dt.date, dims: Dims, p: dict[str, Any], deltas: Deltas) -> None:
    scores = p.get("scores") or {}
    for key, score in scores.items():
        deltas.add(day, dims, f"score_{key}", 1, float(score))
    overall = scores.get("overall")
    if overall is not None:
        deltas.add(day, dims, "csat_answers")
        if int(overall) >= SATISFIED:
            deltas.add(day, dims, "csat_satisfied")
    nps = p.get("nps")
    if nps is not None:
        deltas.add(day, dims, "nps_answers")
        if int(nps) >= PROMOTER:
            deltas.add(day, dims, "nps_promoters")
        elif int(nps) <= DETRACTOR:
            deltas.add(day, dims, "nps_detractors")


# ---------------------------------------------------------------------------------------------- chats and the bot

# Chats and the assistant's conversations are read from their own tables, not the event log: most never become
# tickets. Each is rolled up once, when it ends, in the order of its end (then id).


def roll_up_chats(limit: int = BATCH) -> int:
    """Roll up the next batch of ended chats (AHT of chats); returns how many were read."""
    chats = ChatSession.objects.filter(ended_at__isnull=False).select_related("customer", "ticket__customer")
    return _roll_up_ended("chats", chats, _add_chat, limit)


def roll_up_bot(limit: int = BATCH) -> int:
    """Roll up the next batch of the assistant's ended conversations (bot resolution and hand-off)."""
    conversations = Conversation.objects.filter(ended_at__isnull=False).select_related("chat__customer",
                                                                                       "chat__ticket__customer")
    return _roll_up_ended("bot", conversations, _add_conversation, limit)


def _roll_up_ended(name: str, rows: QuerySet[Any], add: Callable[[Any, Deltas], None], limit: int) -> int:
    with transaction.atomic():
        cursor, _created = RollupCursor.objects.select_for_update().get_or_create(name=name)
        rows = rows.filter(ended_at__lte=now() - LAG)
        if cursor.last_at is not None:
            rows = rows.filter(Q(ended_at__gt=cursor.last_at) | Q(ended_at=cursor.last_at, pk__gt=cursor.last_id))
        batch = list(rows.order_by("ended_at", "pk")[:limit])
        if not batch:
            return 0
        deltas = Deltas()
        for row in batch:
            add(row, deltas)
        deltas.write()
        cursor.last_at, cursor.last_id, cursor.updated_at = batch[-1].ended_at, batch[-1].pk, now()
        cursor.save(update_fields=["last_at", "last_id", "updated_at"])
    return len(batch)


def _chat_dims(chat: ChatSession, agent_id: int | None) -> Dims:
    """A chat that became a ticket counts with its ticket's values; one that did not, under no category, team or
    priority."""
    if chat.ticket is not None:
        return dims_of(chat.ticket) | {"agent": str(agent_id or "")}
    return {"channel": Channel.CHAT, "category": "", "team": "", "agent": str(agent_id or ""),
            "tier": chat.customer.tier, "priority": ""}


def _add_chat(chat: ChatSession, deltas: Deltas) -> None:
    if chat.answered_at is None or chat.ended_at is None:
        return  # nobody answered: no handling time
    seconds = max(0.0, (chat.ended_at - chat.answered_at).total_seconds())
    deltas.add(local_day(chat.ended_at), _chat_dims(chat, chat.agent_id), "handled_chat", 1, seconds)


def _add_conversation(conversation: Conversation, deltas: Deltas) -> None:
    if conversation.ended_at is None:  # the query reads ended ones only; this keeps the type checker informed
        return
    day, dims = local_day(conversation.ended_at), _chat_dims(conversation.chat, None)
    deltas.add(day, dims, "bot_ended")
    if conversation.outcome == Conversation.Outcome.RESOLVED:
        deltas.add(day, dims, "bot_resolved")
    elif conversation.outcome == Conversation.Outcome.HANDED_OFF:
        deltas.add(day, dims, "bot_handed_off")
        deltas.add(day, dims, f"bot_handoff_{conversation.handoff_reason or 'other'}")


# ---------------------------------------------------------------------------------------------- backlog

# Upper bounds (days) of the backlog's age buckets; the last is open.
AGE_BUCKETS_DAYS = (1, 3, 7, 14, 30)
_BACKLOG_DIMENSIONS = {"channel": "channel", "category": "category_id", "team": "team_id", "agent": "owner_id",
                       "tier": "customer__tier", "priority": "priority"}


def snapshot_backlog(day: dt.date | None = None) -> int:
    """Record the tickets not yet resolved (new, open, waiting) as the backlog at the end of ``day`` (default:
    today so far), by age and per dimension; a second snapshot of the same day replaces the first. Returns the
    backlog's size."""
    moment = now()
    day = day or local_day(moment)
    age = Case(*[When(created_at__gte=moment - dt.timedelta(days=bound), then=Value(index))
                 for index, bound in enumerate(AGE_BUCKETS_DAYS)], default=Value(len(AGE_BUCKETS_DAYS)))
    open_tickets = Ticket.objects.filter(status__in=[s.value for s in ACTIVE]).annotate(age_bucket=age)
    deltas = Deltas()
    for dimension, column in (("all", None), *_BACKLOG_DIMENSIONS.items()):
        group = [column] if column else []
        for row in open_tickets.values(*group, "age_bucket").annotate(count=Count("pk")).order_by():
            value = "" if column is None or row[column] is None else str(row[column])
            for metric in ("backlog", f"backlog_age_b{row['age_bucket']:02d}"):
                key = deltas.rows[(day, dimension, value, metric)]
                key[0] += row["count"]
    with transaction.atomic():
        Fact.objects.filter(day=day, metric__startswith="backlog").delete()
        deltas.write()
    return int(sum(n for (_d, dimension, _v, metric), (n, _t) in deltas.rows.items()
                   if dimension == "all" and metric == "backlog"))
