"""Routing's writes: presence, assignment from the queues (on intake, when an agent comes online or frees
capacity, on "get next", by the sweep), queue alerts. Decisions come from ``kefu.routing.strategies``;
each assignment is claimed atomically (``kefu.routing.engine``) and written through the tickets services,
so it lands on the timeline with its reason."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kefu.accounts.models import AgentProfile, AgentSkill, Department, Presence, Role, Skill, User
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.services import StaffAlertRequest, WebhookEvent, alert_staff_many, queue_webhooks
from kefu.routing import alerts, engine
from kefu.routing import strategies as st
from kefu.routing.models import Queue, QueueAlert, RoutingEntry
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket
from kefu.tickets.states import ACTIVE, Status

AWAY_AFTER = dt.timedelta(minutes=settings.KEFU_AWAY_AFTER_MINUTES)
OFFLINE_AFTER = dt.timedelta(minutes=settings.KEFU_OFFLINE_AFTER_MINUTES)
SEEN_EVERY = dt.timedelta(seconds=60)  # how often a busy agent's last activity is written
SCAN_PAGE = 50
MAX_CAPACITY = 1000


# ---------------------------------------------------------------------------------------------- presence


def profile_of(user: User) -> AgentProfile:
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    return profile


def configure_agent(user: User, *, actor: User, skills: Mapping[str, int] | None = None,
                    max_tickets: int | None = None, max_chats: int | None = None,
                    languages: Sequence[str] | None = None) -> AgentProfile:
    """Skills with levels (1–5), capacity and languages of an agent (supervisors and admins)."""
    if actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise PermissionDenied(_("Only a supervisor or an administrator can change an agent's routing profile."))
    if skills is not None and (bad := sorted(k for k, v in skills.items() if not 1 <= v <= 5)):
        raise DomainError(_("Skill levels go from 1 to 5: %(names)s.") % {"names": ", ".join(bad)},
                          code="invalid_level")
    for limit in (max_tickets, max_chats):
        if limit is not None and not 0 <= limit <= MAX_CAPACITY:
            raise DomainError(_("A capacity goes from 0 to %(most)s.") % {"most": MAX_CAPACITY},
                              code="invalid_capacity")
    known = {s.slug: s for s in Skill.objects.filter(slug__in=list(skills or ()))}
    if skills is not None and (unknown := sorted(set(skills) - set(known))):
        raise DomainError(_("Unknown skills: %(names)s.") % {"names": ", ".join(unknown)}, code="unknown_skill")
    with transaction.atomic():
        profile = profile_of(user)
        changes: dict[str, object] = {}
        for field, value in (("max_tickets", max_tickets), ("max_chats", max_chats),
                             ("languages", list(languages) if languages is not None else None)):
            if value is not None:
                changes[field] = [getattr(profile, field), value]
                setattr(profile, field, value)
        profile.save()
        if skills is not None:
            AgentSkill.objects.filter(profile=profile).exclude(skill__slug__in=list(skills)).delete()
            for slug, level in skills.items():
                AgentSkill.objects.update_or_create(profile=profile, skill=known[slug], defaults={"level": level})
            changes["skills"] = dict(skills)
        record_audit("agent_profile", profile, actor=actor, changes=changes)
    engine.roster.forget()  # this process routes with the new skills at once, others within seconds
    return profile


def set_presence(user: User, presence: str, *, actor: User) -> AgentProfile:
    """Set by the agent (or a supervisor). Coming online hands the agent waiting work at once."""
    if actor.pk != user.pk and actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise PermissionDenied(_("Only a supervisor can set someone else's presence."))
    if user.role not in {Role.AGENT, Role.SUPERVISOR, Role.ADMIN}:
        raise DomainError(_("Only agents have a presence."), code="not_agent")
    if presence not in Presence.values:
        raise DomainError(_("Unknown presence “%(value)s”.") % {"value": presence}, code="invalid_presence")
    moment = now()
    with transaction.atomic():
        profile = profile_of(user)
        before = profile.presence
        AgentProfile.objects.filter(pk=profile.pk).update(
            presence=presence, presence_changed_at=moment, presence_auto=False, last_seen_at=moment)
        record_audit("presence", profile, actor=actor, changes={"presence": [before, presence]})
        if presence == Presence.ONLINE and before != Presence.ONLINE:
            transaction.on_commit(lambda: route_for_agent(user))
    profile.refresh_from_db()
    return profile


def note_activity(user: User, moment: dt.datetime | None = None) -> None:
    """An agent did something in the console: remember when, and undo an automatic "away"."""
    moment = moment or now()
    came_back = AgentProfile.objects.filter(user=user, presence_auto=True).exclude(presence=Presence.ONLINE).update(
        presence=Presence.ONLINE, presence_auto=False, presence_changed_at=moment, last_seen_at=moment)
    AgentProfile.objects.filter(user=user).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=moment - SEEN_EVERY)).update(last_seen_at=moment)
    if came_back:
        route_for_agent(user)


def expire_presence(moment: dt.datetime | None = None) -> int:
    """Inactivity: online agents idle for AWAY_AFTER become away, away ones idle for OFFLINE_AFTER offline."""
    moment = moment or now()
    away = AgentProfile.objects.filter(presence=Presence.ONLINE, last_seen_at__lt=moment - AWAY_AFTER).update(
        presence=Presence.AWAY, presence_auto=True, presence_changed_at=moment)
    offline = AgentProfile.objects.filter(presence=Presence.AWAY, last_seen_at__lt=moment - OFFLINE_AFTER).update(
        presence=Presence.OFFLINE, presence_auto=True, presence_changed_at=moment)
    return away + offline


# ---------------------------------------------------------------------------------------------- assignment


class Outcome(enum.Enum):
    ASSIGNED = "assigned"
    TICKET_GONE = "ticket_gone"  # another worker (or a person) got the ticket first
    AGENT_FULL = "agent_full"


class _Lost(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def execute(item: st.WorkItem, choice: st.Choice, moment: dt.datetime, *, reason: str = "routed",
            pulled: bool = False) -> Outcome:
    """Claim the ticket and the agent's capacity, then assign, all in one transaction: either the whole
    assignment happens or nothing does."""
    try:
        with transaction.atomic():
            if not engine.claim_entry(item.ticket_id, choice.agent_id, moment):
                raise _Lost(Outcome.TICKET_GONE)
            if not engine.claim_agent(choice.agent_id, online=not pulled):
                raise _Lost(Outcome.AGENT_FULL)
            ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("owner", "team", "customer")
                      .get(pk=item.ticket_id))
            if ticket.owner_id is not None or Status(ticket.status) not in ACTIVE:
                raise _Lost(Outcome.TICKET_GONE)
            agent = User.objects.get(pk=choice.agent_id)
            # An agent taking work (came online, get next) is not a strategy's choice: only the load is told.
            detail = st.describe(choice) if reason == "routed" else {"load": f"{choice.load}/{choice.capacity}"}
            ticket_services.route_to_agent(ticket, agent, reason=reason, detail=detail)
    except _Lost as lost:
        if lost.outcome == Outcome.TICKET_GONE:
            _settle_entry(item.ticket_id)
        return lost.outcome
    return Outcome.ASSIGNED


def _settle_entry(ticket_id: int) -> None:
    """An entry still waiting for a ticket that has an owner or is finished is brought in line with it."""
    ticket = Ticket.objects.filter(pk=ticket_id).values("owner_id", "status").first()
    if ticket is None:
        return
    if Status(ticket["status"]) in engine.FINISHED:
        RoutingEntry.objects.filter(ticket_id=ticket_id).update(state=RoutingEntry.State.DONE)
    elif ticket["owner_id"] is not None:
        RoutingEntry.objects.filter(ticket_id=ticket_id, state=RoutingEntry.State.WAITING).update(
            state=RoutingEntry.State.ASSIGNED, assigned_to_id=ticket["owner_id"])


def _waiting_line(queues: dict[int, Queue]) -> Iterator[st.WorkItem]:
    """The waiting line of these queues in service order, read a page at a time."""
    teams = {pk: queue.team_id for pk, queue in queues.items()}
    offset = 0
    while True:
        page = engine.waiting_items(teams, offset=offset, limit=SCAN_PAGE)
        yield from page
        if len(page) < SCAN_PAGE:
            return
        offset += SCAN_PAGE


def route_waiting(moment: dt.datetime | None = None, per_queue: int = 500) -> int:
    """The sweep: each queue's waiting line, in service order, to the agents of its team who have room."""
    moment = moment or now()
    assigned = 0
    for queue in engine.active_queues.get().values():
        items = engine.waiting_items({queue.pk: queue.team_id}, limit=per_queue)
        if not items:
            continue
        agents = engine.team_agents(queue.team_id, moment)
        for item, choice in st.assign_batch(items, agents, {queue.pk: st.Strategy(queue.strategy)}, moment):
            assigned += execute(item, choice, moment) == Outcome.ASSIGNED
    return assigned


def _queues_of(state: st.AgentState) -> dict[int, Queue]:
    return {pk: q for pk, q in engine.active_queues.get().items() if q.team_id in state.teams}


def _next_item(state: st.AgentState, queues: dict[int, Queue], skip: set[int]) -> st.WorkItem | None:
    return next((item for item in _waiting_line(queues) if item.ticket_id not in skip
                 and st.is_eligible(state, item)), None)


def route_for_agent(user: User, moment: dt.datetime | None = None, *, pulled: bool = False) -> list[int]:
    """Give an agent who came online or freed capacity the waiting work they may take, in service order,
    until full; with ``pulled`` ("get next") one ticket, whatever the agent's presence."""
    moment = moment or now()
    state = engine.agent_state(user.pk, moment)
    if state is None:
        return []
    if pulled:
        state.available = True
    queues = _queues_of(state)
    got: list[int] = []
    tried: set[int] = set()
    while queues and state.available and state.free > 0:
        item = _next_item(state, queues, tried)
        if item is None:
            break
        tried.add(item.ticket_id)
        choice = st.Choice(user.pk, st.Strategy.ROUND_ROBIN, None, state.load, state.capacity)
        outcome = execute(item, choice, moment, reason="get_next" if pulled else "agent_available", pulled=pulled)
        if outcome == Outcome.AGENT_FULL:
            break
        if outcome == Outcome.ASSIGNED:
            st.take(state, moment)
            got.append(item.ticket_id)
            if pulled:
                break
    return got


def pull_next(user: User) -> Ticket:
    """"Get next": the first waiting ticket, in service order, that this agent may take."""
    if user.role not in {Role.AGENT, Role.SUPERVISOR, Role.ADMIN} or not user.is_active:
        raise PermissionDenied(_("Only agents take tickets from the queues."))
    profile = profile_of(user)
    if profile.open_tickets >= profile.max_tickets:
        raise DomainError(_("You are at capacity (%(load)s of %(capacity)s open tickets): finish one first.")
                          % {"load": profile.open_tickets, "capacity": profile.max_tickets}, code="at_capacity")
    got = route_for_agent(user, pulled=True)
    if not got:
        raise DomainError(_("Nothing is waiting that you can take."), code="nothing_waiting")
    return Ticket.objects.get(pk=got[0])


def on_capacity_freed(user_id: int | None) -> None:
    """After a ticket of this agent resolved or moved away (on commit): give them the next one."""
    if user_id is None:
        return
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        route_for_agent(user)


# ---------------------------------------------------------------------------------------------- transfers


def transfer(ticket: Ticket, *, actor: User, to_agent: User | None = None, to_team: Department | None = None,
             note: str = "") -> Ticket:
    """A transfer keeps the whole ticket; to a team without an agent it waits in that team's queue and is
    routed at once if someone there has room."""
    from_owner_id = ticket.owner_id
    ticket = ticket_services.transfer_ticket(ticket, actor=actor, to_agent=to_agent, to_team=to_team, note=note)
    if ticket.owner_id is None:
        route_waiting()
    on_capacity_freed(from_owner_id)
    return ticket


# ---------------------------------------------------------------------------------------------- alerts


ALERT_TEXTS = {
    alerts.AlertKind.TOO_MANY_WAITING: gettext_noop("Queue %(queue)s: %(waiting)s tickets waiting (alert above "
                                                    "%(limit)s)."),
    alerts.AlertKind.WAIT_TOO_LONG: gettext_noop("Queue %(queue)s: the longest wait is %(minutes)s minutes "
                                                 "(target %(target)s)."),
}


def queue_loads(moment: dt.datetime) -> list[alerts.QueueLoad]:
    queues = engine.active_queues.get()
    rows = (RoutingEntry.objects.filter(state=RoutingEntry.State.WAITING, queue_id__in=list(queues))
            .values("queue_id").annotate(n=Count("pk"), oldest=Min("enqueued_at"),
                                         oldest_lane=Min("enqueued_at", filter=Q(lane=0))))
    by_queue: dict[int, dict[str, Any]] = {row["queue_id"]: dict(row) for row in rows}
    loads = []
    for pk, queue in queues.items():
        row = by_queue.get(pk, {"n": 0, "oldest": None, "oldest_lane": None})
        loads.append(alerts.QueueLoad(
            queue_id=pk, waiting=row["n"], longest_wait_s=_seconds_since(row["oldest"], moment),
            max_waiting=queue.alert_max_waiting, max_wait_s=queue.target_wait_minutes * 60,
            longest_lane_wait_s=_seconds_since(row["oldest_lane"], moment),
            max_lane_wait_s=queue.lane_target_wait_minutes * 60))
    return loads


def _seconds_since(moment: dt.datetime | None, now_: dt.datetime) -> float:
    return max((now_ - moment).total_seconds(), 0.0) if moment else 0.0


def check_queue_alerts(moment: dt.datetime | None = None) -> tuple[int, int]:
    """Open an alert (console, email, webhook) for each queue that crossed a threshold, once; close the
    ones whose queue is back under. Returns (opened, closed)."""
    moment = moment or now()
    queues = engine.active_queues.get()
    open_alerts = {(a.queue_id, alerts.AlertKind(a.kind)): a for a in QueueAlert.objects.filter(closed_at__isnull=True)}
    to_open, to_close = alerts.alert_changes(queue_loads(moment), open_alerts)
    with transaction.atomic():
        for load, kind in to_open:
            alert = QueueAlert.objects.create(queue_id=load.queue_id, kind=kind, opened_at=moment,
                                              waiting=load.waiting, longest_wait_s=int(load.longest_wait_s))
            _announce(alert, queues[load.queue_id], load)
        QueueAlert.objects.filter(pk__in=[open_alerts[key].pk for key in to_close]).update(closed_at=moment)
    return len(to_open), len(to_close)


def _alert_context(queue: Queue, load: alerts.QueueLoad, kind: alerts.AlertKind) -> dict[str, object]:
    lane_over = load.max_lane_wait_s and load.longest_lane_wait_s > load.max_lane_wait_s
    return {"queue": queue.name, "waiting": load.waiting, "limit": queue.alert_max_waiting,
            "minutes": int((load.longest_lane_wait_s if lane_over else load.longest_wait_s) // 60),
            "target": queue.lane_target_wait_minutes if lane_over else queue.target_wait_minutes}


def _announce(alert: QueueAlert, queue: Queue, load: alerts.QueueLoad) -> None:
    kind = alerts.AlertKind(alert.kind)
    context = _alert_context(queue, load, kind)
    supervisors = list(User.objects.filter(is_active=True, role=Role.SUPERVISOR, departments=queue.team_id)) or \
        list(User.objects.filter(is_active=True, role=Role.SUPERVISOR))
    alert_staff_many([StaffAlertRequest(user, f"queue_{kind}", None, lambda _lang: _(ALERT_TEXTS[kind]) % context)
                      for user in supervisors])
    queue_webhooks([WebhookEvent(key=f"queue_alert.{alert.pk}", type="queue_alert", ticket_id=None,
                                 payload={"type": "queue_alert", "kind": kind.value, "queue": queue.name,
                                          "queue_id": queue.pk, "team": queue.team.name, "waiting": load.waiting,
                                          "longest_wait_seconds": int(load.longest_wait_s),
                                          "opened_at": alert.opened_at.isoformat()})])
