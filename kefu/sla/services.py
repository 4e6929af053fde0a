"""Service-level clocks: policy matching, starting, pausing, meeting and breaching them.

The tickets services call ``plan_for_new_ticket`` and ``save_plan`` on intake and ``on_event`` for every
timeline event; the scheduler calls ``sweep``. Every warning, breach and escalation is itself a timeline event.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kefu.accounts.models import Role, User
from kefu.core.bulk import insert_many, insert_rows
from kefu.core.clock import now
from kefu.core.shortcache import short_lived
from kefu.notifications.services import StaffAlertRequest, WebhookEvent, alert_staff_many, queue_webhooks
from kefu.routing import engine as routing_engine
from kefu.sla import businesstime as bt
from kefu.sla import policies
from kefu.sla.calendars import calendar_for
from kefu.sla.models import OPEN_STATES, TICKING, SlaPolicy, TicketClock, TicketSla, clock_label
from kefu.tickets.events import webhook_event
from kefu.tickets.models import PRIORITY_RANK, Priority, Ticket, TicketEvent
from kefu.tickets.states import TERMINAL, Action, Status

Kind, State = TicketClock.Kind, TicketClock.State
# Fields of a ticket that a policy's conditions read: changing one re-matches the policy.
CONDITION_FIELDS = frozenset({"priority", "complexity", "channel", "category", "team"})
SWEEP_BATCH = 2000


# ---------------------------------------------------------------------------------------------- matching


def _facts(ticket: Ticket) -> policies.TicketFacts:
    return policies.TicketFacts(
        priority=ticket.priority, complexity=ticket.complexity, channel=ticket.channel,
        tier=ticket.customer.tier, category=ticket.category.slug if ticket.category else "", team_id=ticket.team_id,
    )


def _load_policies() -> list[tuple[SlaPolicy, policies.Conditions]]:
    candidates = SlaPolicy.objects.filter(active=True).select_related("calendar").prefetch_related("teams")
    return [(p, p.conditions(frozenset(t.pk for t in p.teams.all()))) for p in candidates]


# Read at most every few seconds per process, not on every intake (kefu.core.shortcache).
active_policies = short_lived(_load_policies)


def matching_policy(ticket: Ticket) -> SlaPolicy | None:
    return policies.first_match(active_policies.get(), _facts(ticket))


def _targets(policy: SlaPolicy, ticket: Ticket) -> policies.Targets:
    return policies.for_customer(policy.targets(), ticket.customer.tier, policy.priority_lane_percent)


# ---------------------------------------------------------------------------------------------- clocks


def _calendar(clock: TicketClock) -> bt.Calendar:
    return calendar_for(clock.calendar_id, settings.TIME_ZONE)


def _schedule(clock: TicketClock, start: dt.datetime, seconds: float) -> None:
    """Due and warning times for `seconds` of (business) time from `start`."""
    calendar = _calendar(clock)
    clock.due_at = bt.add(calendar, start, seconds)
    already = clock.target_seconds - seconds  # time used before a pause
    warn_in = policies.warning_after(clock.target_seconds, clock.warning_percent) - already
    clock.warn_at = bt.add(calendar, start, max(0.0, warn_in)) if clock.state == State.RUNNING else None
    clock.next_check_at = clock.warn_at if clock.state == State.RUNNING else clock.due_at


def _new_clock(ticket: Ticket, policy: SlaPolicy, kind: str, minutes: int, start: dt.datetime,
               name: str = "") -> TicketClock:
    clock = TicketClock(ticket=ticket, kind=kind, name=name, target_seconds=minutes * 60, calendar=policy.calendar,
                        warning_percent=policy.warning_percent, started_at=start)
    _schedule(clock, start, clock.target_seconds)
    return clock


def _record(ticket: Ticket, type_: str, *, at: dt.datetime | None = None, **payload: object) -> TicketEvent:
    event = TicketEvent.objects.create(ticket=ticket, type=type_, actor=None, public=False, payload=payload,
                                       at=at or now())
    queue_webhooks([webhook_event(ticket, event)])
    return event


def _minutes_by_kind(targets: policies.Targets) -> dict[str, int | None]:
    return {Kind.FIRST_RESPONSE: targets.first_response, Kind.RESOLUTION: targets.resolution,
            Kind.UPDATE: targets.update_every, Kind.REEVALUATION: targets.reevaluation}


def _new_clocks(ticket: Ticket, policy: SlaPolicy, targets: policies.Targets, kinds: Iterable[str],
                start: dt.datetime, milestones_on: str | None = None) -> list[TicketClock]:
    minutes = _minutes_by_kind(targets)
    clocks = [_new_clock(ticket, policy, kind, m, start) for kind in kinds if (m := minutes.get(kind))]
    if milestones_on:
        clocks += [_new_clock(ticket, policy, Kind.MILESTONE, m.minutes, start, name=m.name)
                   for m in targets.milestones if m.starts_on == milestones_on]
    return clocks


def _start(ticket: Ticket, policy: SlaPolicy, kinds: Iterable[str], start: dt.datetime,
           milestones_on: str | None = None) -> list[TicketClock]:
    clocks = _new_clocks(ticket, policy, _targets(policy, ticket), kinds, start, milestones_on)
    return TicketClock.objects.bulk_create(clocks) if clocks else []


@dataclass(frozen=True)
class IntakePlan:
    """The policy record, clocks and `sla_applied` event of a ticket not yet written."""

    record: TicketSla
    clocks: list[TicketClock]
    event: TicketEvent


def plan_for_new_ticket(ticket: Ticket) -> IntakePlan | None:
    """Match the policy and compute the clocks of a new, still unsaved ticket.

    Intake calls this before its write transaction (on SQLite writers take turns, so the matching and
    the business-time arithmetic must not happen while holding the turn) and `save_plan` inside it.
    """
    policy = matching_policy(ticket)
    if policy is None:
        return None
    targets = _targets(policy, ticket)
    recorded = targets.as_dict()
    start = ticket.created_at
    clocks = _new_clocks(ticket, policy, targets, [Kind.FIRST_RESPONSE, Kind.RESOLUTION], start, "created")
    if ticket.status == Status.OPEN:  # accepted at intake
        clocks += _new_clocks(ticket, policy, targets, [], start, milestones_on="accepted")
    return IntakePlan(
        record=TicketSla(ticket=ticket, policy=policy, policy_name=policy.name, targets=recorded, matched_at=start),
        clocks=clocks,
        event=TicketEvent(ticket=ticket, type="sla_applied", actor=None, public=False, at=start,
                          payload={"policy": policy.name, "targets": recorded}),
    )


def save_plan(plan: IntakePlan) -> None:
    """Write a plan once its ticket has been saved (its event is the caller's to write)."""
    insert_many([plan.record])
    insert_many(plan.clocks)


def _policy_of(ticket: Ticket) -> SlaPolicy | None:
    sla = TicketSla.objects.select_related("policy__calendar").filter(ticket=ticket).first()
    return sla.policy if sla is not None else None


def _open_clocks(ticket: Ticket, *kinds: str) -> list[TicketClock]:
    clocks = TicketClock.objects.select_for_update().filter(ticket=ticket, state__in=OPEN_STATES)
    if kinds:
        clocks = clocks.filter(kind__in=kinds)
    return list(clocks)


def _finish(clocks: Iterable[TicketClock], state: str, moment: dt.datetime) -> None:
    clocks = list(clocks)
    for clock in clocks:
        clock.state = state
        clock.next_check_at = None
        if state == State.MET:
            clock.met_at = moment
    TicketClock.objects.bulk_update(clocks, ["state", "next_check_at", "met_at"])
    if state == State.MET and clocks:
        # A met clock is a timeline event as a breach is: SLA compliance (kefu.analytics) counts both.
        insert_rows(TicketEvent, ["ticket", "type", "actor", "public", "at", "payload"],
                    [(c.ticket_id, "sla_met", None, False, moment,
                      {"clock": c.kind, "name": c.name, "due_at": _iso(c.due_at)}) for c in clocks])


def _pause(clocks: Iterable[TicketClock], moment: dt.datetime) -> None:
    clocks = [c for c in clocks if c.state in TICKING and c.due_at is not None]
    for clock in clocks:
        clock.remaining_seconds = max(0.0, bt.between(_calendar(clock), moment, clock.due_at))  # type: ignore[arg-type]
        clock.state, clock.paused_at = State.PAUSED, moment
        clock.due_at = clock.warn_at = clock.next_check_at = None
    TicketClock.objects.bulk_update(clocks, ["remaining_seconds", "state", "paused_at", "due_at", "warn_at",
                                             "next_check_at"])


def _resume(clocks: Iterable[TicketClock], moment: dt.datetime) -> None:
    clocks = [c for c in clocks if c.state == State.PAUSED]
    for clock in clocks:
        clock.state = State.WARNING if clock.warned_at else State.RUNNING
        _schedule(clock, moment, clock.remaining_seconds or 0.0)
        clock.paused_at, clock.remaining_seconds = None, None
    TicketClock.objects.bulk_update(clocks, ["state", "due_at", "warn_at", "next_check_at", "paused_at",
                                             "remaining_seconds"])


def _restart_updates(ticket: Ticket, policy: SlaPolicy, moment: dt.datetime) -> None:
    _finish(_open_clocks(ticket, Kind.UPDATE), State.MET, moment)
    _start(ticket, policy, [Kind.UPDATE], moment)


def on_event(ticket: Ticket, event: TicketEvent) -> None:
    """Move the ticket's clocks for one timeline event (in the event's transaction)."""
    if event.type.startswith("sla_"):
        return
    policy = _policy_of(ticket)
    if policy is None:
        return
    moment = event.at
    payload = event.payload or {}
    milestones = [c for c in _open_clocks(ticket, Kind.MILESTONE)
                  if event.type in _milestone_met_on(policy, c.name)]
    _finish(milestones, State.MET, moment)
    if event.type == "replied":
        _finish(_open_clocks(ticket, Kind.FIRST_RESPONSE), State.MET, moment)
        if policy.update_every_minutes and ticket.status not in {Status.RESOLVED, *TERMINAL}:
            _restart_updates(ticket, policy, moment)
    elif event.type == "status_changed":
        _on_status_change(ticket, policy, payload.get("action", ""), moment)
    elif event.type == "updated" and CONDITION_FIELDS & set(payload.get("changes", {})):
        reapply_policy(ticket, moment)


def _milestone_met_on(policy: SlaPolicy, name: str) -> tuple[str, ...]:
    for milestone in policy.targets().milestones:
        if milestone.name == name:
            return milestone.met_on
    return ()


def _on_status_change(ticket: Ticket, policy: SlaPolicy, action: str, moment: dt.datetime) -> None:
    if action == Action.ACCEPT:
        _start(ticket, policy, [], moment, milestones_on="accepted")
    elif action == Action.WAIT_CUSTOMER and policy.pause_when_waiting:
        _pause(_open_clocks(ticket), moment)
    elif action == Action.RESUME:
        _resume(_open_clocks(ticket), moment)
    elif action == Action.RESOLVE:
        clocks = _open_clocks(ticket)
        _finish([c for c in clocks if c.kind in {Kind.RESOLUTION, Kind.REEVALUATION}], State.MET, moment)
        _finish([c for c in clocks if c.kind not in {Kind.RESOLUTION, Kind.REEVALUATION}], State.CANCELLED, moment)
    elif action == Action.OBJECT:
        _start(ticket, policy, [Kind.REEVALUATION], moment)
        if policy.update_every_minutes:
            _start(ticket, policy, [Kind.UPDATE], moment)
    elif action == Action.REOPEN:
        _start(ticket, policy, [Kind.RESOLUTION], moment)
    elif action in {Action.CONFIRM, Action.CANCEL, Action.MERGE}:
        _finish(_open_clocks(ticket), State.CANCELLED, moment)


def reapply_policy(ticket: Ticket, moment: dt.datetime | None = None) -> None:
    """Conditions changed: match again; open clocks keep their start and take the new targets."""
    moment = moment or now()
    policy = matching_policy(ticket)
    sla = TicketSla.objects.filter(ticket=ticket).first()
    if policy is None or sla is None or sla.policy_id == policy.pk:
        return
    targets = _targets(policy, ticket)
    minutes = _minutes_by_kind(targets)
    sla.policy, sla.policy_name, sla.targets, sla.matched_at = policy, policy.name, targets.as_dict(), moment
    sla.save()
    for clock in _open_clocks(ticket):
        new_minutes = minutes.get(clock.kind) if clock.kind != Kind.MILESTONE else None
        if not new_minutes:
            continue
        clock.calendar, clock.warning_percent = policy.calendar, policy.warning_percent
        clock.target_seconds = new_minutes * 60
        if clock.state == State.PAUSED:
            continue
        clock.state = State.RUNNING
        clock.warned_at = None
        _schedule(clock, clock.started_at, clock.target_seconds)
        clock.save()
    _record(ticket, "sla_policy_changed", at=moment, policy=policy.name, targets=targets.as_dict())


# ---------------------------------------------------------------------------------------------- the sweep


def _due(moment: dt.datetime) -> QuerySet[TicketClock]:
    """The clocks whose warning or due time has come: one range scan of ``clock_next_check``."""
    return TicketClock.objects.filter(next_check_at__lte=moment).order_by("next_check_at")


def due_clocks(moment: dt.datetime, limit: int = SWEEP_BATCH) -> list[int]:
    return list(_due(moment).values_list("pk", flat=True)[:limit])


class DueClock(NamedTuple):
    """What the sweep reads of a due clock (plain values: no model instances, and a tuple rather than a frozen
    dataclass, whose fields cost a call each to set, for thousands of rows)."""

    pk: int
    ticket_id: int
    kind: str
    name: str
    due_at: dt.datetime | None
    team_id: int | None
    owner_id: int | None
    breached: bool  # past its due time (else: past its warning time)
    policy_id: int | None  # the ticket's policy: only a breach's escalation reads it (PostgreSQL returns no other)


def sweep(moment: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Warn and breach one batch of what is due; returns how many clocks it handled.

    Set-based, so that its cost follows the number of due clocks: the batch is claimed (locked, moved on and
    its timeline events written) in one statement on PostgreSQL, a locked read, two updates and an insert on
    SQLite; then the bell alerts and their emails are inserted in bulk. Rows another sweep holds are skipped
    (PostgreSQL), so two sweeps never report a clock twice.
    """
    moment = moment or now()
    with transaction.atomic():
        clocks = _claim_due(moment, limit)
        if not clocks:
            return 0
        breached = [c for c in clocks if c.breached]
        warned = [c for c in clocks if not c.breached]
        queue_webhooks(_sweep_webhook(c, type_, moment) for type_, batch in ((SLA_WARNING, warned),
                                                                           (SLA_BREACHED, breached))
                       for c in batch)
        _alert_for_sweep(warned, breached)
        _escalate_breaches(breached, moment)
    return len(clocks)


def _is_breach(due_at: dt.datetime | None, moment: dt.datetime) -> bool:
    # The claim statement's _BREACHED says the same on PostgreSQL.
    return due_at is not None and due_at <= moment


def _claim_due(moment: dt.datetime, limit: int) -> list[DueClock]:
    """Lock one batch of due clocks, move each to its next step (warning, or breached) and record that step
    on the ticket's timeline; returns the batch."""
    real = connections[DEFAULT_DB_ALIAS]
    if real.vendor == "postgresql":
        # One statement locks, updates, records and returns the batch: read first and then updated, every row
        # was written twice (the lock, then the new version), the two updates' id lists were planned anew, and
        # the events' rows were built in Python only to be sent back.
        with real.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, {"moment": moment, "limit": limit})
            # The due time comes as text: psycopg's loader (through Django's time zone subclass) took 5-8 µs a
            # timestamp, text and fromisoformat() 0.5 µs.
            return [DueClock(pk, ticket_id, kind, name, _from_iso(due), team_id, owner_id, breached, policy_id)
                    for pk, ticket_id, kind, name, due, team_id, owner_id, breached, policy_id in cursor.fetchall()]
    clocks = [DueClock(pk, ticket_id, kind, name, due_at, team_id, owner_id, _is_breach(due_at, moment), policy_id)
              for pk, ticket_id, kind, name, due_at, team_id, owner_id, policy_id in (
        _due(moment).select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", "ticket_id", "kind", "name", "due_at", "ticket__team_id", "ticket__owner_id",
                     "ticket__sla__policy_id")[:limit]
    )]
    warned = [c for c in clocks if not c.breached]
    breached = [c for c in clocks if c.breached]
    TicketClock.objects.filter(pk__in=[c.pk for c in warned]).update(
        state=State.WARNING, warned_at=moment, next_check_at=F("due_at"))
    TicketClock.objects.filter(pk__in=[c.pk for c in breached]).update(
        state=State.BREACHED, breached_at=moment, next_check_at=None)
    insert_rows(TicketEvent, ["ticket", "type", "actor", "public", "at", "payload"],
                [_sweep_event(c, SLA_WARNING, moment) for c in warned]
                + [_sweep_event(c, SLA_BREACHED, moment) for c in breached])
    return clocks


SLA_WARNING, SLA_BREACHED = "sla_warning", "sla_breached"

# Rows another sweep holds are skipped, as in _due()'s order; a clock without a due time only warns. The due
# time is written as Python's isoformat() of a UTC time (microseconds only when there are any), for the events'
# payload (_sweep_event()'s) and for the sweep to read back. Only the models' own table names, states and event
# types are formatted in.
_BREACHED = "clock.due_at <= %(moment)s"
_UTC_DUE = "clock.due_at AT TIME ZONE 'UTC'"
_CLAIM_SQL = f"""
WITH due AS (
    SELECT id FROM {TicketClock._meta.db_table} WHERE next_check_at <= %(moment)s
    ORDER BY next_check_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {TicketClock._meta.db_table} AS clock SET
        state = CASE WHEN {_BREACHED} THEN '{State.BREACHED.value}' ELSE '{State.WARNING.value}' END,
        warned_at = CASE WHEN {_BREACHED} THEN clock.warned_at ELSE %(moment)s END,
        breached_at = CASE WHEN {_BREACHED} THEN %(moment)s ELSE clock.breached_at END,
        next_check_at = CASE WHEN {_BREACHED} THEN NULL ELSE clock.due_at END
    FROM due, {Ticket._meta.db_table} AS ticket
    WHERE clock.id = due.id AND ticket.id = clock.ticket_id
    RETURNING clock.id, clock.ticket_id, clock.kind, clock.name,
        to_char({_UTC_DUE}, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_trunc('second', clock.due_at) = clock.due_at THEN '' ELSE to_char({_UTC_DUE}, '.US') END
        || '+00:00' AS due,
        ticket.team_id, ticket.owner_id, coalesce({_BREACHED}, false) AS breached,
        CASE WHEN {_BREACHED}
             THEN (SELECT policy_id FROM {TicketSla._meta.db_table} WHERE ticket_id = clock.ticket_id) END AS policy_id
), recorded AS (
    INSERT INTO {TicketEvent._meta.db_table} (ticket_id, type, actor_id, public, at, payload)
    SELECT ticket_id, CASE WHEN breached THEN '{SLA_BREACHED}' ELSE '{SLA_WARNING}' END, NULL, false, %(moment)s,
        jsonb_build_object('clock', kind, 'name', name, 'due_at', due, 'team', team_id, 'owner', owner_id)
    FROM claimed ORDER BY breached, id
)
SELECT id, ticket_id, kind, name, due, team_id, owner_id, breached, policy_id FROM claimed ORDER BY id
"""  # noqa: S608


def _sweep_event(clock: DueClock, type_: str, moment: dt.datetime) -> tuple[object, ...]:
    # The team and owner of the moment: a breach's escalation may move the ticket in the same transaction, and the
    # breach is the team's that missed it (kefu.analytics counts it there).
    return (clock.ticket_id, type_, None, False, moment,
            {"clock": clock.kind, "name": clock.name, "due_at": _iso(clock.due_at), "team": clock.team_id,
             "owner": clock.owner_id})


def _sweep_webhook(clock: DueClock, type_: str, moment: dt.datetime) -> WebhookEvent:
    # The sweep's events are inserted without reading their ids back; the clock and the step identify them.
    return WebhookEvent(key=f"clock.{clock.pk}.{type_}", type=type_, ticket_id=clock.ticket_id, payload={
        "ticket": {"id": clock.ticket_id, "owner_id": clock.owner_id, "team_id": clock.team_id},
        "at": moment.isoformat(), "details": {"clock": clock.kind, "name": clock.name, "due_at": _iso(clock.due_at)},
    })


def _alert_for_sweep(warned: list[DueClock], breached: list[DueClock]) -> None:
    """A warning goes to the owner (the team's supervisors when nobody owns it); a breach to both."""
    clocks = [*warned, *breached]
    supervisors = _supervisors_by_team({c.team_id for c in clocks})
    owners = User.objects.in_bulk({c.owner_id for c in clocks if c.owner_id is not None})
    zone = settings.TIME_ZONE  # read once: each read of a setting goes through Django's lazy proxy
    alerts: list[StaffAlertRequest] = []
    for clock in warned:
        owner = owners.get(clock.owner_id) if clock.owner_id else None
        text = _warning_text(clock, zone)
        alerts += [StaffAlertRequest(user, SLA_WARNING, clock.ticket_id, text)
                   for user in ([owner] if owner else supervisors(clock.team_id))]
    for clock in breached:
        owner = owners.get(clock.owner_id) if clock.owner_id else None
        told = {u.id: u for u in [*supervisors(clock.team_id), *([owner] if owner else [])]}
        text = _breach_text(clock, zone)
        alerts += [StaffAlertRequest(user, SLA_BREACHED, clock.ticket_id, text) for user in told.values()]
    alert_staff_many(alerts)


WARNING_TEXT = gettext_noop("%(clock)s on #%(number)s is due at %(due)s.")
BREACH_TEXT = gettext_noop("%(clock)s on #%(number)s was due at %(due)s and is overdue.")


def _warning_text(clock: DueClock, zone: str) -> Callable[[str], str]:
    return lambda language: _in_language(language, WARNING_TEXT) % _context(clock, language, zone)


def _breach_text(clock: DueClock, zone: str) -> Callable[[str], str]:
    return lambda language: _in_language(language, BREACH_TEXT) % _context(clock, language, zone)


@functools.lru_cache(maxsize=256)
def _in_language(language: str, message: str) -> str:
    # A sweep words thousands of alerts from a handful of sentences: translate each once per language.
    return _(message)


@functools.lru_cache(maxsize=256)
def _label_in_language(language: str, kind: str, name: str) -> str:
    return clock_label(kind, name)


# Policies whose breach does more than notify, active or not (a ticket keeps the policy it matched).
acting_policy_ids = short_lived(lambda: frozenset(
    SlaPolicy.objects.exclude(breach_action=SlaPolicy.BreachAction.NOTIFY).values_list("pk", flat=True)))


def _escalate_breaches(breached: list[DueClock], moment: dt.datetime) -> None:
    acting_ids = acting_policy_ids.get()
    # One step per sweep and ticket, however many of its clocks broke at once.
    first_breach: dict[int, DueClock] = {}
    for clock in breached:
        if clock.policy_id in acting_ids:
            first_breach.setdefault(clock.ticket_id, clock)
    if not first_breach:
        return
    policies_by_id = SlaPolicy.objects.select_related("breach_team").in_bulk(
        {c.policy_id for c in first_breach.values()})
    tickets = Ticket.objects.select_related("team", "customer", "category").in_bulk(list(first_breach))
    for ticket_id, clock in first_breach.items():
        _escalate(tickets[ticket_id], policies_by_id[clock.policy_id], clock.kind, moment)


def _escalate(ticket: Ticket, policy: SlaPolicy, clock_kind: str, moment: dt.datetime) -> None:
    action = policy.breach_action
    if action == SlaPolicy.BreachAction.RAISE_PRIORITY:
        higher = _higher_priority(ticket.priority)
        if higher is None:
            return
        before, ticket.priority = ticket.priority, higher
        ticket.updated_at = moment
        ticket.save(update_fields=["priority", "updated_at"])
        event = _record(ticket, "escalated", at=moment, action=action, clock=clock_kind, before=before, after=higher)
        reapply_policy(ticket, moment)
        routing_engine.on_event(ticket, event)  # a waiting ticket moves up its queue
    elif action == SlaPolicy.BreachAction.REASSIGN_TEAM and policy.breach_team and policy.breach_team != ticket.team:
        before_team, from_owner_id = ticket.team.name if ticket.team else None, ticket.owner_id
        ticket.team, ticket.owner, ticket.updated_at = policy.breach_team, None, moment
        ticket.save(update_fields=["team", "owner", "updated_at"])
        routing_engine.on_event(ticket, _record(ticket, "escalated", at=moment, action=action, clock=clock_kind,
                                                before=before_team, after=policy.breach_team.name,
                                                from_owner_id=from_owner_id))
    elif action == SlaPolicy.BreachAction.REROUTE and ticket.owner_id is not None:
        # Back in its queue, where the routing sweep gives it to the best agent other than this one.
        before_owner, from_owner_id = ticket.owner.name if ticket.owner else None, ticket.owner_id
        ticket.owner, ticket.updated_at = None, moment
        ticket.save(update_fields=["owner", "updated_at"])
        routing_engine.on_event(ticket, _record(ticket, "escalated", at=moment, action=action, clock=clock_kind,
                                                before=before_owner, after=None, from_owner_id=from_owner_id))


def _higher_priority(priority: str) -> str | None:
    rank = PRIORITY_RANK[Priority(priority)]
    return next((p for p, r in PRIORITY_RANK.items() if r == rank - 1), None)


def _supervisors_by_team(team_ids: Iterable[int | None]) -> Callable[[int | None], list[User]]:
    """Who supervises each team (every supervisor when a team has none), read in two queries."""
    supervisors = list(User.objects.filter(is_active=True, role=Role.SUPERVISOR))
    wanted = [t for t in set(team_ids) if t is not None]
    by_team: dict[int, list[User]] = {}
    for user in User.objects.filter(is_active=True, role=Role.SUPERVISOR, departments__in=wanted).annotate(
            team=F("departments")):
        by_team.setdefault(user.team, []).append(user)  # type: ignore[attr-defined]
    return lambda team_id: by_team.get(team_id, []) if team_id in by_team else supervisors


def _context(clock: DueClock, language: str, zone: str) -> dict[str, str]:
    return {"clock": _label_in_language(language, clock.kind, clock.name), "number": str(clock.ticket_id),
            "due": _local_minute(clock.due_at, zone) if clock.due_at else ""}


def _local_minute(moment: dt.datetime, zone: str) -> str:
    # Deadlines of one sweep cluster on a few minutes, each to its own microsecond: each minute is formatted once.
    return _format_minute(moment.replace(second=0, microsecond=0), zone)


@functools.lru_cache(maxsize=4096)
def _format_minute(minute: dt.datetime, zone: str) -> str:
    return minute.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _from_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None
