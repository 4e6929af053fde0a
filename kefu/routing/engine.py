"""Routing's part of the ticket write paths: the queue and agent of a new ticket, and the queue entry and
agent loads kept in step with every assignment and status change.

The tickets services call ``plan_intake`` / ``commit_intake`` on intake and ``on_event`` for every
timeline event, the way they call the SLA services; so this module reads tickets but never writes them
(``kefu.routing.services`` does that through the tickets services). Decisions are made by the pure
``kefu.routing.strategies``; this module reads the state they need and claims it atomically:

- a queue entry moves waiting → assigned with ``UPDATE … WHERE state = 'waiting'``, so two workers never
  both take one ticket;
- an agent's load goes up with ``UPDATE … WHERE open_tickets < max_tickets``, so two workers never push
  an agent over capacity. The count is then recounted from the tickets themselves under the profile's
  row lock at every assignment and status change, so it cannot drift.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from kefu.accounts.models import AgentProfile, AgentSkill, Presence, Role, User
from kefu.core.shortcache import short_lived
from kefu.routing import rules as rule_logic
from kefu.routing import strategies as st
from kefu.routing.models import Queue, RoutingEntry, RoutingRule
from kefu.sla import businesstime as bt
from kefu.sla.calendars import calendar_for
from kefu.sla.models import OPEN_STATES, TicketClock
from kefu.tickets.models import Ticket, TicketEvent
from kefu.tickets.states import TERMINAL, WORKING, Status

COUNTED = tuple(s.value for s in WORKING | {Status.NEW})
"""The statuses of a ticket that count toward its owner's load: everything not yet resolved."""


def _load_queues() -> dict[int, Queue]:
    return {q.pk: q for q in Queue.objects.filter(active=True).select_related("team")}


def _load_rules() -> list[rule_logic.Rule[RoutingRule]]:
    return [rule_logic.Rule(rule, conditions_of(rule))
            for rule in RoutingRule.objects.filter(active=True, queue__active=True).order_by("position", "id")]


# Read at most every few seconds per process: intake pays nothing for them per ticket.
active_queues = short_lived(_load_queues)
active_rules = short_lived(_load_rules)


def forget_configuration() -> None:
    active_queues.forget()
    active_rules.forget()
    roster.forget()


def conditions_of(rule: RoutingRule) -> rule_logic.RuleConditions:
    return rule_logic.RuleConditions(
        categories=frozenset(rule.categories), priorities=frozenset(rule.priorities),
        channels=frozenset(rule.channels), languages=frozenset(rule.languages), tiers=frozenset(rule.tiers),
        tags=frozenset(rule.tags), keywords=tuple(rule.keywords))


def facts_of(ticket: Ticket, tags: Iterable[str] | None = None) -> rule_logic.RoutingFacts:
    if tags is None:
        tags = ticket.tags.values_list("name", flat=True) if ticket.pk else ()
    return rule_logic.RoutingFacts(
        category=ticket.category.slug if ticket.category else "", priority=ticket.priority,
        channel=ticket.channel, language=ticket.language, tier=ticket.customer.tier, tags=frozenset(tags),
        text=f"{ticket.subject}\n{ticket.description}")


@dataclass(frozen=True)
class Destination:
    queue: Queue
    rule: RoutingRule | None
    required_skills: Mapping[str, int]


def destination_for(ticket: Ticket, tags: Iterable[str] | None = None) -> Destination | None:
    """The first matching rule's queue; else the first queue of the ticket's team (or, without a team,
    any queue) that takes its channel; None when no queue is set up."""
    queues = active_queues.get()
    if not queues:
        return None
    rule = rule_logic.first_match(active_rules.get(), facts_of(ticket, tags))
    if rule is not None and rule.key.queue_id in queues:
        return Destination(queues[rule.key.queue_id], rule.key, dict(rule.key.required_skills))
    return _team_queue(queues, ticket, any_team=ticket.team_id is None)


def _team_queue(queues: Mapping[int, Queue], ticket: Ticket, *, any_team: bool = False) -> Destination | None:
    """The first queue of the ticket's team (of any team with ``any_team``) that takes its channel."""
    for queue in queues.values():
        if (any_team or queue.team_id == ticket.team_id) and queue.accepts_channel(ticket.channel):
            return Destination(queue, None, {})
    return None


# ---------------------------------------------------------------------------------------------- agents


def _available_now(calendar_ids: set[int], moment: dt.datetime) -> set[int]:
    return {cid for cid in calendar_ids if bt.is_working(calendar_for(cid, settings.TIME_ZONE), moment)}


@dataclass(frozen=True)
class RosterEntry:
    """What changes rarely about an agent: skills, languages, schedule (cached; see ``roster``)."""

    skills: Mapping[str, int]
    languages: frozenset[str]
    calendar_id: int | None


def _load_roster() -> dict[int, RosterEntry]:
    skills: dict[int, dict[str, int]] = {}
    for user_id, slug, level in AgentSkill.objects.values_list("profile_id", "skill__slug", "level"):
        skills.setdefault(user_id, {})[slug] = level
    return {user_id: RosterEntry(skills.get(user_id, {}), frozenset(languages or ()), calendar_id)
            for user_id, languages, calendar_id in AgentProfile.objects.values_list("user_id", "languages",
                                                                                   "calendar_id")}


# Skills, languages and schedules of every agent, read at most every few seconds per process: a decision
# then reads only what changes by the minute (presence, load, last assignment), one row per agent with room.
roster = short_lived(_load_roster)


def _room_rows(team_id: int) -> list[tuple[int, int, int, dt.datetime | None]]:
    """(user id, load, capacity, last assigned) of the team's online agents with room. Plain SQL: with a
    thousand agents the ORM's per-row conversions cost more than the database does."""
    profile, user = AgentProfile._meta.db_table, User._meta.db_table
    membership = User.departments.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.user_id, p.open_tickets, p.max_tickets, u.last_assigned_at FROM {profile} p"  # noqa: S608
            f" JOIN {user} u ON u.id = p.user_id JOIN {membership} m ON m.user_id = p.user_id"
            " WHERE m.department_id = %s AND p.presence = %s AND p.open_tickets < p.max_tickets"
            " AND u.is_active = %s AND u.role = %s",
            [team_id, Presence.ONLINE.value, True, Role.AGENT.value])
        rows = cursor.fetchall()
    if rows and connection.vendor == "sqlite":
        rows = [(uid, load, cap, _sqlite_datetime(at)) for uid, load, cap, at in rows]
    return rows


def _sqlite_datetime(value: str | dt.datetime | None) -> dt.datetime | None:
    # SQLite keeps naive UTC; the driver hands it over parsed or as text depending on the column's declared type.
    if not value:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def team_agents(team_id: int, moment: dt.datetime) -> list[st.AgentState]:
    """The team's agents who could take one more ticket now: online, under capacity, within their schedule."""
    rows = _room_rows(team_id)
    known = roster.get()
    if any(row[0] not in known for row in rows):  # an agent set up since the roster was read
        roster.forget()
        known = roster.get()
    nobody = RosterEntry({}, frozenset(), None)
    working = _available_now({c for row in rows if (c := known.get(row[0], nobody).calendar_id)}, moment)
    teams = frozenset({team_id})
    states = []
    for user_id, load, capacity, last_assigned_at in rows:
        entry = known.get(user_id, nobody)
        states.append(st.AgentState(
            agent_id=user_id, teams=teams, capacity=capacity, load=load,
            available=entry.calendar_id is None or entry.calendar_id in working, skills=entry.skills,
            languages=entry.languages, last_assigned_at=last_assigned_at))
    return states


def candidates(team_id: int, required_skills: Mapping[str, int], moment: dt.datetime) -> list[st.AgentState]:
    """Agents of a team who could take one more ticket now, holding the required skills."""
    agents = team_agents(team_id, moment)
    if not required_skills:
        return agents
    return [a for a in agents if all(a.skills.get(name, 0) >= level for name, level in required_skills.items())]


PROFILE_FIELDS = ("user_id", "presence", "open_tickets", "max_tickets", "languages", "calendar_id",
                  "user__last_assigned_at")


def agent_state(user_id: int, moment: dt.datetime) -> st.AgentState | None:
    """One agent's full state, read fresh (for "get next" and an agent coming online)."""
    p = AgentProfile.objects.filter(user_id=user_id).values(*PROFILE_FIELDS).first()
    if p is None:
        return None
    teams = frozenset(User.departments.through.objects.filter(user_id=user_id).values_list("department_id", flat=True))
    skills = dict(AgentSkill.objects.filter(profile_id=user_id).values_list("skill__slug", "level"))
    working = p["calendar_id"] is None or bool(_available_now({p["calendar_id"]}, moment))
    return st.AgentState(
        agent_id=user_id, teams=teams, capacity=p["max_tickets"], load=p["open_tickets"],
        available=p["presence"] == Presence.ONLINE and working, skills=skills,
        languages=frozenset(p["languages"] or ()), last_assigned_at=p["user__last_assigned_at"])


def previous_agent_of(customer_id: int, ticket_id: int | None = None) -> int | None:
    tickets = Ticket.objects.filter(customer_id=customer_id, owner__isnull=False)
    if ticket_id is not None:
        tickets = tickets.exclude(pk=ticket_id)
    return tickets.order_by("-id").values_list("owner_id", flat=True).first()


SERVICE_ORDER = ("lane", "priority_rank", "tier_rank", "due_at", "enqueued_at", "ticket_id")
"""The waiting line's order (strategies.WorkItem.service_key), which the partial index routing_waiting_line
holds: the first waiting tickets of a queue are read without sorting."""

_ITEM_FIELDS = ("ticket_id", "queue_id", "priority", "tier", "enqueued_at", "due_at", "required_skills", "language",
                "previous_agent_id", "excluded_agent_id")


def waiting_items(queue_teams: Mapping[int, int | None], *, offset: int = 0, limit: int = 50) -> list[st.WorkItem]:
    """A page of the waiting line of these queues (queue id → its team), in service order."""
    rows = (RoutingEntry.objects.filter(queue_id__in=list(queue_teams), state=RoutingEntry.State.WAITING)
            .order_by(*SERVICE_ORDER).values_list(*_ITEM_FIELDS)[offset:offset + limit])
    return [st.WorkItem(ticket_id=t, queue_id=q, team_id=queue_teams[q], priority=p, tier=tier, enqueued_at=e,
                        due_at=d, required_skills=skills or {}, language=lang, previous_agent_id=prev,
                        excluded_agent_id=excl)
            for t, q, p, tier, e, d, skills, lang, prev, excl in rows]


def new_entry(ticket: Ticket, destination: Destination, due_at: dt.datetime | None, moment: dt.datetime,
              *, previous_agent_id: int | None = None, excluded_agent_id: int | None = None) -> RoutingEntry:
    queue = destination.queue
    lane = st.lane_of(ticket.priority, ticket.customer.tier)
    wait_target = queue.lane_target_wait_minutes if lane == 0 else queue.target_wait_minutes
    queue_deadline = moment + dt.timedelta(minutes=wait_target)
    return RoutingEntry(
        ticket=ticket, queue=queue, rule=destination.rule, channel=ticket.channel, lane=lane,
        priority_rank=st.PRIORITY_RANK.get(ticket.priority, 9), tier_rank=st.TIER_RANK.get(ticket.customer.tier, 9),
        due_at=min(due_at, queue_deadline) if due_at else queue_deadline, enqueued_at=moment,
        priority=ticket.priority, tier=ticket.customer.tier, required_skills=dict(destination.required_skills),
        language=ticket.language, previous_agent_id=previous_agent_id, excluded_agent_id=excluded_agent_id)


# ---------------------------------------------------------------------------------------------- claims


def claim_agent(user_id: int, *, online: bool = True) -> bool:
    """One more ticket for an agent under capacity (and online, unless the agent is pulling work);
    False when another worker got there first. Plain SQL: it runs at every routed intake, and the ORM's
    building of this conditional update cost more than the update."""
    online_only = " AND presence = %s" if online else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AgentProfile._meta.db_table} SET open_tickets = open_tickets + 1"  # noqa: S608
            f" WHERE user_id = %s AND open_tickets < max_tickets{online_only}",
            [user_id, Presence.ONLINE.value] if online else [user_id])
        return cursor.rowcount == 1


def claim_entry(ticket_id: int, agent_id: int, moment: dt.datetime) -> bool:
    """Take a waiting ticket out of its queue; False when it is no longer waiting."""
    return RoutingEntry.objects.filter(ticket_id=ticket_id, state=RoutingEntry.State.WAITING).update(
        state=RoutingEntry.State.ASSIGNED, assigned_to_id=agent_id, assigned_at=moment) == 1


def recount_load(user_id: int | None) -> None:
    """Set an agent's open-ticket count from the tickets, under the profile's row lock (so that on
    PostgreSQL the count is read after any concurrent assignment to the same agent has committed)."""
    if user_id is None:
        return
    if not list(AgentProfile.objects.select_for_update().filter(user_id=user_id).values_list("pk", flat=True)):
        return
    count = Ticket.objects.filter(owner_id=user_id, status__in=COUNTED).count()
    AgentProfile.objects.filter(user_id=user_id).update(open_tickets=count)


def recount_all_loads() -> int:
    """The sweep's reconciliation: every profile whose count differs from its tickets is corrected."""
    counts = dict(Ticket.objects.filter(owner__isnull=False, status__in=COUNTED).values("owner_id")
                  .annotate(n=Count("id")).values_list("owner_id", "n"))
    fixed = 0
    for user_id, stored in AgentProfile.objects.values_list("user_id", "open_tickets"):
        if counts.get(user_id, 0) != stored:
            fixed += AgentProfile.objects.filter(user_id=user_id).update(open_tickets=counts.get(user_id, 0))
    return fixed


# ---------------------------------------------------------------------------------------------- intake


@dataclass
class IntakeRoute:
    destination: Destination
    choice: st.Choice | None
    previous_agent_id: int | None = None


def plan_intake(ticket: Ticket, tags: Iterable[str], moment: dt.datetime) -> IntakeRoute | None:
    """Before intake's write transaction: the queue of a new (unsaved) ticket and the agent for it, if one
    is free. None when no queue is set up (intake then keeps its plain round robin)."""
    destination = destination_for(ticket, tags)
    if destination is None:
        return None
    queue = destination.queue
    previous = previous_agent_of(ticket.customer_id) if queue.strategy == st.Strategy.STICKY else None
    item = st.WorkItem(ticket_id=0, queue_id=queue.pk, team_id=queue.team_id, priority=ticket.priority,
                       tier=ticket.customer.tier, enqueued_at=moment, required_skills=destination.required_skills,
                       language=ticket.language, previous_agent_id=previous)
    agents = candidates(queue.team_id, destination.required_skills, moment)
    return IntakeRoute(destination, st.choose_agent(item, agents, st.Strategy(queue.strategy), moment), previous)


def commit_intake(route: IntakeRoute) -> int | None:
    """In intake's transaction, before the ticket is written: claim the chosen agent. The agent's id, or
    None when the agent filled up meanwhile (the ticket then waits in its queue)."""
    if route.choice is not None and claim_agent(route.choice.agent_id):
        return route.choice.agent_id
    route.choice = None
    return None


def save_intake_entry(route: IntakeRoute, ticket: Ticket, due_at: dt.datetime | None) -> RoutingEntry:
    """In intake's transaction, after the ticket is written."""
    entry = new_entry(ticket, route.destination, due_at, ticket.created_at, previous_agent_id=route.previous_agent_id)
    if route.choice is not None:
        entry.state, entry.assigned_to_id, entry.assigned_at = (
            RoutingEntry.State.ASSIGNED, route.choice.agent_id, ticket.created_at)
    return entry


# ---------------------------------------------------------------------------------------------- events


FINISHED = TERMINAL | {Status.RESOLVED}
OWNER_EVENTS = frozenset({"assigned", "transferred", "escalated"})


CAPACITY_FREED: list[Callable[[int], None]] = []
"""Called after commit with an agent whose ticket was resolved or moved away (kefu.routing.services gives the
agent the next waiting ticket; registered by the app, as this module cannot import the services)."""


def _freed(user_id: int | None) -> None:
    if user_id is not None and active_queues.get():
        for callback in CAPACITY_FREED:
            transaction.on_commit(functools.partial(callback, user_id))


def on_event(ticket: Ticket, event: TicketEvent) -> None:
    """Keep the queue entry and the loads in step with one timeline event (in its transaction)."""
    if event.type in OWNER_EVENTS:
        if ticket.owner_id is not None:
            RoutingEntry.objects.filter(ticket_id=ticket.pk).exclude(state=RoutingEntry.State.DONE).update(
                state=RoutingEntry.State.ASSIGNED, assigned_to_id=ticket.owner_id, assigned_at=event.at)
            recount_load(ticket.owner_id)
        elif Status(ticket.status) not in FINISHED:
            requeue(ticket, excluded_agent_id=event.payload.get("from_owner_id"), moment=event.at)
        if event.payload.get("from_owner_id") != ticket.owner_id:
            recount_load(event.payload.get("from_owner_id"))
            _freed(event.payload.get("from_owner_id"))
    elif event.type == "status_changed":
        recount_load(ticket.owner_id)
        if Status(ticket.status) in FINISHED:
            RoutingEntry.objects.filter(ticket_id=ticket.pk).update(state=RoutingEntry.State.DONE)
            if event.payload.get("before") not in FINISHED:
                _freed(ticket.owner_id)
        elif event.payload.get("before") in FINISHED:  # reopened: back with its owner, or back in line
            RoutingEntry.objects.filter(ticket_id=ticket.pk).update(
                state=RoutingEntry.State.ASSIGNED if ticket.owner_id else RoutingEntry.State.WAITING)


def requeue(ticket: Ticket, *, excluded_agent_id: int | None, moment: dt.datetime) -> RoutingEntry | None:
    """Put a ticket that lost its owner back in line: the queue it was in while that is its team's, else a
    queue of its (new) team, else where the rules send it; the agent it left is skipped."""
    destination = _queue_kept(ticket) or destination_for(ticket)
    if destination is None:
        RoutingEntry.objects.filter(ticket_id=ticket.pk).delete()
        return None
    previous = previous_agent_of(ticket.customer_id, ticket.pk) if destination.queue.strategy == st.Strategy.STICKY \
        else None
    entry = new_entry(ticket, destination, earliest_due(ticket.pk), moment, previous_agent_id=previous,
                      excluded_agent_id=excluded_agent_id)
    entry.save()
    return entry


def _queue_kept(ticket: Ticket) -> Destination | None:
    queues = active_queues.get()
    entry = RoutingEntry.objects.filter(ticket_id=ticket.pk).select_related("rule").first()
    if entry is not None and entry.queue_id in queues and queues[entry.queue_id].team_id == ticket.team_id:
        return Destination(queues[entry.queue_id], entry.rule, entry.required_skills or {})
    return _team_queue(queues, ticket)


def earliest_due(ticket_id: int) -> dt.datetime | None:
    return (TicketClock.objects.filter(ticket_id=ticket_id, state__in=OPEN_STATES, due_at__isnull=False)
            .order_by("due_at").values_list("due_at", flat=True).first())

