"""Every read of decisions for a person: through the tickets' access layer, so a decision on a ticket
one cannot see does not exist for them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.approvals import conf
from kefu.approvals.models import AuthorityLimit, Decision, DecisionKind, LimitRole
from kefu.approvals.services import Authority, authority_of, can_approve
from kefu.core.clock import now
from kefu.core.errors import DomainError, NotFound
from kefu.core.shortcache import short_lived
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import visible_tickets


def visible_decisions(actor: User | Any) -> QuerySet[Decision]:
    return Decision.objects.filter(ticket__in=visible_tickets(actor).values("pk"))


def get_decision_for(actor: User | Any, decision_id: int) -> Decision:
    """One decision on a ticket the actor may see; missing and forbidden are the same NotFound."""
    decision = (visible_decisions(actor).select_related("ticket", "kind", "requested_by", "decided_by")
                .filter(pk=decision_id).first())
    if decision is None:
        raise NotFound(_("Decision not found."))
    return decision


def decisions_on(ticket: Ticket) -> list[Decision]:
    """The decisions on a ticket already loaded through the access layer, newest first (one query)."""
    return list(Decision.objects.filter(ticket=ticket).select_related("kind", "requested_by", "decided_by")
                .order_by("-requested_at", "-pk"))


def kind_by_key(key: str) -> DecisionKind:
    """A decision kind as a form names it (in use or not: the service refuses inactive ones with its reason)."""
    kind = DecisionKind.objects.filter(key=key[:50]).first()
    if kind is None:
        raise DomainError(_("Choose what you decide: a refund, compensation…"), code="unknown_kind")
    return kind


# Read on every ticket page (the agent's own limits) and edited rarely: each process keeps the kinds for a
# few seconds (kefu.core.shortcache); a save in this process forgets them.
active_kinds_cache = short_lived(lambda: list(DecisionKind.objects.filter(active=True)))


def active_kinds() -> list[DecisionKind]:
    return active_kinds_cache.get()


def my_authority(actor: User) -> list[Authority]:
    """What the actor may decide alone, per active kind, in the kinds' order."""
    kinds = active_kinds()
    mine = authority_of(actor, kinds)
    return [mine[k.pk] for k in kinds]


@dataclass
class ApprovalQueue:
    waiting: list[Decision]  # pending requests this person may settle, oldest first
    others: list[Decision]  # pending requests they may not (their own; an administrator's to decide)
    recent: list[Decision]  # settled in the last days


def approval_queue(actor: User, *, recent_limit: int = 100) -> ApprovalQueue:
    """The approvals page: pending requests and those settled recently (three queries)."""
    decisions = visible_decisions(actor).select_related("ticket", "kind", "requested_by", "decided_by")
    pending = list(decisions.filter(state=Decision.State.PENDING).order_by("requested_at", "pk")[:500])
    since = now() - dt.timedelta(days=conf.recent_days())
    recent = list(decisions.filter(Q(state__in=[Decision.State.APPROVED, Decision.State.REJECTED,
                                                Decision.State.WITHDRAWN]), decided_at__gte=since)
                  .order_by("-decided_at", "-pk")[:recent_limit])
    return ApprovalQueue(waiting=[d for d in pending if can_approve(actor, d)],
                         others=[d for d in pending if not can_approve(actor, d)], recent=recent)


@dataclass
class KindLimits:
    kind: DecisionKind
    agent: Decimal | None
    supervisor: Decimal | None


def limits_table() -> list[KindLimits]:
    """Every kind (in use or not) with its limits per role, for the administrators' editor (two queries)."""
    kinds = list(DecisionKind.objects.all())
    limits = {(row.kind_id, row.role): row.max_amount for row in AuthorityLimit.objects.all()}
    return [KindLimits(k, limits.get((k.pk, LimitRole.AGENT)), limits.get((k.pk, LimitRole.SUPERVISOR)))
            for k in kinds]


@dataclass
class DecisionSummary:
    """Decisions of one kind by one person in a period, for analytics."""

    kind: str
    requested_by_id: int
    requested_by: str
    count: int = 0
    decided_alone: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    pending: int = 0
    amount_granted: Decimal = Decimal("0.00")  # decided alone or approved
    amount_requested: Decimal = Decimal("0.00")
    approval_seconds: list[float] = field(default_factory=list)  # request → approval or rejection

    @property
    def mean_approval_seconds(self) -> float | None:
        return sum(self.approval_seconds) / len(self.approval_seconds) if self.approval_seconds else None


def decision_summary(actor: User, *, start: dt.datetime, end: dt.datetime) -> list[DecisionSummary]:
    """Per kind and requester, the decisions requested in [start, end): how many, in which state, the amounts
    granted, and how long approvals took (wall-clock). Supervisors, administrators and QA only."""
    if actor.role not in {Role.SUPERVISOR, Role.ADMIN, Role.QA} or not actor.is_active:
        return []
    rows: dict[tuple[str, int], DecisionSummary] = {}
    names: defaultdict[int, str] = defaultdict(str)
    for state, kind, user_id, username, display, amount, asked, settled in (
            visible_decisions(actor).filter(requested_at__gte=start, requested_at__lt=end)
            .values_list("state", "kind__key", "requested_by_id", "requested_by__username",
                         "requested_by__display_name", "amount", "requested_at", "decided_at")):
        names[user_id] = display or username
        row = rows.setdefault((kind, user_id), DecisionSummary(kind, user_id, names[user_id]))
        row.count += 1
        row.amount_requested += amount
        match state:
            case Decision.State.DECIDED:
                row.decided_alone += 1
                row.amount_granted += amount
            case Decision.State.APPROVED:
                row.approved += 1
                row.amount_granted += amount
            case Decision.State.REJECTED:
                row.rejected += 1
            case Decision.State.WITHDRAWN:
                row.withdrawn += 1
            case _:
                row.pending += 1
        if state in {Decision.State.APPROVED, Decision.State.REJECTED} and settled is not None:
            row.approval_seconds.append((settled - asked).total_seconds())
    return sorted(rows.values(), key=lambda r: (r.kind, r.requested_by))
