"""Routing's reads for people: the wallboard, an agent's own work list, the rule preview."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Min, Q, QuerySet
from django.utils.translation import gettext as _

from kefu.accounts.models import AgentProfile, Presence, Role, User
from kefu.core.clock import now
from kefu.core.errors import PermissionDenied
from kefu.customers.models import Channel
from kefu.routing import engine
from kefu.routing import rules as rule_logic
from kefu.routing.models import Queue, QueueAlert, RoutingEntry, RoutingRule
from kefu.sla.models import OPEN_STATES, TicketClock
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import visible_tickets

BOARD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
CHANNEL_LABELS = dict(Channel.choices)


@dataclass(frozen=True)
class ChannelLine:
    channel: str
    waiting: int
    longest_wait_minutes: int


@dataclass
class QueueRow:
    queue: Queue
    waiting: int = 0
    lane_waiting: int = 0
    longest_wait_s: float = 0.0
    at_risk: int = 0
    by_channel: list[ChannelLine] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    @property
    def longest_wait_minutes(self) -> int:
        return int(self.longest_wait_s // 60)

    @property
    def over_waiting(self) -> bool:
        return bool(self.queue.alert_max_waiting) and self.waiting > self.queue.alert_max_waiting

    @property
    def over_wait(self) -> bool:
        return bool(self.waiting) and self.longest_wait_s > self.queue.target_wait_minutes * 60


@dataclass
class TeamPresence:
    team_id: int
    team: str
    available: int = 0  # online with room
    busy: int = 0  # online and at capacity
    away: int = 0
    offline: int = 0


@dataclass
class Board:
    queues: list[QueueRow]
    teams: list[TeamPresence]
    at: dt.datetime


def require_board(actor: User) -> None:
    if not actor.is_active or actor.role not in BOARD_ROLES:
        raise PermissionDenied(_("The queue monitor is for supervisors."))


def wallboard(actor: User, moment: dt.datetime | None = None) -> Board:
    """Per queue: waiting (by channel, and in the priority lane), the longest wait, tickets at risk, open
    alerts; per team: agents available, busy, away and offline. A handful of grouped queries."""
    require_board(actor)
    moment = moment or now()
    queues = {q.pk: QueueRow(q) for q in Queue.objects.filter(active=True).select_related("team")}
    waiting = RoutingEntry.objects.filter(state=RoutingEntry.State.WAITING, queue_id__in=list(queues))
    grouped = waiting.values("queue_id", "channel").annotate(
        n=Count("pk"), lane=Count("pk", filter=Q(lane=0)), oldest=Min("enqueued_at")).order_by("queue_id", "channel")
    for row in grouped:
        line = queues[row["queue_id"]]
        line.waiting += row["n"]
        line.lane_waiting += row["lane"]
        line.longest_wait_s = max(line.longest_wait_s, (moment - row["oldest"]).total_seconds())
        line.by_channel.append(ChannelLine(str(CHANNEL_LABELS.get(row["channel"], row["channel"])), row["n"],
                                           int((moment - row["oldest"]).total_seconds() // 60)))
    risky = (TicketClock.objects.filter(state=TicketClock.State.WARNING, ticket__routing__queue_id__in=list(queues))
             .exclude(ticket__routing__state=RoutingEntry.State.DONE)
             .values("ticket__routing__queue_id").annotate(n=Count("ticket_id", distinct=True)))
    for risk in risky:
        queues[risk["ticket__routing__queue_id"]].at_risk = risk["n"]
    for alert in QueueAlert.objects.filter(closed_at__isnull=True, queue_id__in=list(queues)):
        queues[alert.queue_id].alerts.append(str(QueueAlert.Kind(alert.kind).label))
    return Board(list(queues.values()), _team_presence({q.queue.team_id: q.queue.team.name for q in queues.values()}),
                 moment)


def _team_presence(teams: dict[int, str]) -> list[TeamPresence]:
    rows = {pk: TeamPresence(pk, name) for pk, name in teams.items()}
    counts = (AgentProfile.objects.filter(user__is_active=True, user__role=Role.AGENT,
                                          user__departments__in=list(teams))
              .values(team=F("user__departments")).annotate(
                  available=Count("pk", filter=Q(presence=Presence.ONLINE, open_tickets__lt=F("max_tickets"))),
                  busy=Count("pk", filter=Q(presence=Presence.ONLINE, open_tickets__gte=F("max_tickets"))),
                  away=Count("pk", filter=Q(presence=Presence.AWAY)),
                  offline=Count("pk", filter=Q(presence=Presence.OFFLINE))))
    for row in counts:
        team = rows[row["team"]]
        team.available, team.busy, team.away, team.offline = row["available"], row["busy"], row["away"], row["offline"]
    return sorted(rows.values(), key=lambda t: t.team)


def my_work(actor: User) -> QuerySet[Ticket]:
    """The agent's own tickets in progress, the one whose deadline comes first at the top."""
    return (visible_tickets(actor).filter(owner=actor, status__in=engine.COUNTED)
            .select_related("customer", "category")
            .annotate(next_due=Min("clocks__due_at", filter=Q(clocks__state__in=OPEN_STATES)))
            .order_by(F("next_due").asc(nulls_last=True), "id"))


def presence_of(user: User) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).first()


def routing_rules(actor: User) -> list[RoutingRule]:
    """Every rule in the order they are tried (supervisors and administrators)."""
    if not actor.is_active or actor.role not in BOARD_ROLES:
        raise PermissionDenied(_("Routing rules are for supervisors and administrators."))
    return list(RoutingRule.objects.select_related("queue").order_by("position", "id"))


def preview_rule(rule: RoutingRule, ticket: Ticket) -> list[rule_logic.Check]:
    """"Test this rule against a ticket": each condition the rule sets, what the ticket has, and whether
    it holds (the rule applies when all do)."""
    return rule_logic.explain(engine.conditions_of(rule), engine.facts_of(ticket))
