"""Every write of frontline authority: deciding within one's limit, requesting approval above it,
approving, rejecting and withdrawing requests, and the administrators' limits.

Each call is one transaction: the decision row, an internal event on the ticket's timeline and an audit row.
Nothing here reaches the customer; the agent tells the customer in a reply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kefu.accounts.models import Role, User
from kefu.approvals import conf
from kefu.approvals.models import AuthorityLimit, Decision, DecisionKind, LimitRole
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.services import StaffAlertRequest, alert_staff_many
from kefu.tickets.models import Ticket
from kefu.tickets.services import record_ticket_event

MAX_AMOUNT = Decimal("9999999999.99")
APPROVER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})

REQUESTED_ALERT = gettext_noop("#%(number)s: %(requester)s asks to approve %(kind)s of %(amount)s.")
REMINDER_ALERT = gettext_noop("#%(number)s: %(requester)s is still waiting for approval of %(kind)s of %(amount)s.")
APPROVED_ALERT = gettext_noop("#%(number)s: %(approver)s approved your %(kind)s of %(amount)s.")
REJECTED_ALERT = gettext_noop("#%(number)s: %(approver)s rejected your %(kind)s of %(amount)s: %(reason)s")


@dataclass(frozen=True)
class Authority:
    """What one person may decide alone for one kind: up to ``limit``, everything, or nothing."""

    kind: DecisionKind
    limit: Decimal | None  # None with unlimited=False: may not decide this kind alone
    unlimited: bool = False

    def covers(self, amount: Decimal) -> bool:
        return self.unlimited or (self.limit is not None and amount <= self.limit)


def authority_of(user: User, kinds: list[DecisionKind]) -> dict[int, Authority]:
    """Per kind, what ``user`` may decide alone (one query)."""
    if user.role == Role.ADMIN and user.is_active:
        return {k.pk: Authority(k, None, unlimited=True) for k in kinds}
    limits: dict[int, Decimal] = {}
    if user.role in LimitRole.values and user.is_active:
        limits = dict(AuthorityLimit.objects.filter(role=user.role, kind__in=[k.pk for k in kinds])
                      .values_list("kind_id", "max_amount"))
    return {k.pk: Authority(k, limits.get(k.pk)) for k in kinds}


def parse_amount(text: str) -> Decimal:
    """An amount typed by a person ("1,200.50", "300") as a Decimal with two places; refuses anything else."""
    try:
        amount = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation:
        raise DomainError(_("Enter the amount as a number, for example 150.00."), code="invalid_amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise DomainError(_("Enter the amount as a number with at most two decimals."), code="invalid_amount")
    if amount.copy_abs() > MAX_AMOUNT:  # checked before quantize, which cannot hold so many digits
        raise DomainError(_("The amount is too large."), code="invalid_amount")
    return amount.quantize(Decimal("0.01"))


def _require_positive(amount: Decimal) -> None:
    if amount <= 0:
        raise DomainError(_("The amount must be more than zero."), code="invalid_amount")
    if amount > MAX_AMOUNT:
        raise DomainError(_("The amount is too large."), code="invalid_amount")


def _payload(decision: Decision, **extra: object) -> dict[str, object]:
    return {"decision": decision.pk, "kind": decision.kind.key, "kind_en": decision.kind.name_en,
            "kind_zh": decision.kind.name_zh, "amount": str(decision.amount), "currency": decision.currency,
            **extra}


def _alert(users: list[User], kind: str, decision: Decision, template: str, **fields: str) -> None:
    ticket, item = decision.ticket, decision.kind

    def text(language: str) -> str:
        return _(template) % {"number": ticket.number, "kind": item.label(language),
                              "amount": decision.amount_display, **fields}

    alert_staff_many([StaffAlertRequest(user, kind, ticket.pk, text) for user in users])


def _approvers(decision: Decision) -> list[User]:
    """Who hears of a new request: the supervisors of the ticket's team (all supervisors when the team has
    none, or the ticket no team), or the administrators when only they may approve it."""
    people = User.objects.filter(is_active=True).exclude(pk=decision.requested_by_id)
    if decision.approver_role == Role.ADMIN:
        return list(people.filter(role=Role.ADMIN))
    supervisors = people.filter(role=Role.SUPERVISOR)
    team = decision.ticket.team_id
    if team is not None and supervisors.filter(departments=team).exists():
        supervisors = supervisors.filter(departments=team)
    return list(supervisors)


@transaction.atomic
def record_decision(ticket: Ticket, *, kind: DecisionKind, amount: Decimal, reason: str,
                    currency: str | None = None, actor: User) -> Decision:
    """A decision with a cost on ``ticket``. Within the actor's limit it is taken at once (state decided);
    above it, it becomes a request (pending) that a supervisor — or, above the supervisors' limit, an
    administrator — approves or rejects. The caller has loaded ``ticket`` through the access layer."""
    if not actor.can_write_tickets:
        raise PermissionDenied(_("Your role cannot change tickets."))
    if not kind.active:
        raise DomainError(_("This kind of decision is not in use."), code="inactive_kind")
    currency = currency or conf.currency()
    if currency != conf.currency():
        raise DomainError(_("Amounts are in %(currency)s.") % {"currency": conf.currency()}, code="invalid_currency")
    _require_positive(amount)
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say why: the reason is kept with the decision."), code="reason_required")
    mine = authority_of(actor, [kind])[kind.pk]
    decision = Decision(ticket=ticket, kind=kind, amount=amount, currency=currency, reason=reason[:2000],
                        requested_by=actor, requested_at=now())
    if mine.covers(amount):
        decision.state = Decision.State.DECIDED
        decision.decided_by, decision.decided_at = actor, decision.requested_at
        decision.save()
        record_ticket_event(ticket, "approval_decided_alone", actor=actor, public=False,
                            **_payload(decision, reason=decision.reason,
                                       limit=None if mine.limit is None else str(mine.limit)))
        record_audit("approvals.decided_alone", decision, actor=actor,
                     changes={"kind": kind.key, "amount": str(amount), "ticket": ticket.pk})
        return decision
    supervisors = AuthorityLimit.objects.filter(kind=kind, role=LimitRole.SUPERVISOR).first()
    within_supervisors = supervisors is not None and amount <= supervisors.max_amount
    decision.approver_role = Role.SUPERVISOR if actor.role == Role.AGENT and within_supervisors else Role.ADMIN
    decision.state = Decision.State.PENDING
    decision.save()
    record_ticket_event(ticket, "approval_requested", actor=actor, public=False,
                        **_payload(decision, reason=decision.reason, approver_role=decision.approver_role,
                                   limit=None if mine.limit is None else str(mine.limit)))
    record_audit("approvals.requested", decision, actor=actor,
                 changes={"kind": kind.key, "amount": str(amount), "ticket": ticket.pk,
                          "approver_role": decision.approver_role})
    _alert(_approvers(decision), "approval_requested", decision, REQUESTED_ALERT, requester=actor.name)
    return decision


def _lock_pending(decision: Decision) -> Decision:
    """The row itself, locked; a request someone else settled meanwhile is refused, not settled twice."""
    locked = (Decision.objects.select_for_update(of=("self",)).select_related("ticket", "kind", "requested_by")
              .get(pk=decision.pk))
    if not locked.is_pending:
        raise DomainError(_("This request was settled already (%(state)s).") % {"state": locked.get_state_display()},
                          code="not_pending")
    return locked


def can_approve(actor: User, decision: Decision) -> bool:
    """Whether ``actor`` may approve or reject this pending request (not their own; the right role)."""
    if not actor.is_active or actor.role not in APPROVER_ROLES or decision.requested_by_id == actor.pk:
        return False
    return actor.role == Role.ADMIN or decision.approver_role == Role.SUPERVISOR


@transaction.atomic
def decide_request(decision: Decision, *, approve: bool, reason: str = "", actor: User) -> Decision:
    """Approve or reject a pending request. A reason is required to reject and optional to approve; the
    requester is alerted. Nobody settles their own request, and a request above the supervisors' limit
    (or a supervisor's own) needs an administrator."""
    if not actor.is_active or actor.role not in APPROVER_ROLES:
        raise PermissionDenied(_("Only supervisors and administrators approve requests."))
    decision = _lock_pending(decision)
    if decision.requested_by_id == actor.pk:
        raise PermissionDenied(_("You cannot approve or reject your own request."))
    if not can_approve(actor, decision):
        raise PermissionDenied(_("This request is above the supervisors' limit: an administrator decides it."))
    reason = reason.strip()[:2000]
    if not approve and not reason:
        raise DomainError(_("Say why you reject the request."), code="reason_required")
    decision.state = Decision.State.APPROVED if approve else Decision.State.REJECTED
    decision.decided_by, decision.decision_reason, decision.decided_at = actor, reason, now()
    decision.save(update_fields=["state", "decided_by", "decision_reason", "decided_at"])
    type_ = "approval_approved" if approve else "approval_rejected"
    record_ticket_event(decision.ticket, type_, actor=actor, public=False,
                        **_payload(decision, reason=reason, requested_by=decision.requested_by.name))
    record_audit(f"approvals.{decision.state}", decision, actor=actor,
                 changes={"state": ["pending", decision.state], "reason": reason})
    _alert([decision.requested_by], type_, decision, APPROVED_ALERT if approve else REJECTED_ALERT,
           approver=actor.name, reason=reason)
    return decision


@transaction.atomic
def withdraw_decision(decision: Decision, *, actor: User) -> Decision:
    """The requester takes back a request nobody has settled yet."""
    if decision.requested_by_id != actor.pk or not actor.can_write_tickets:
        raise PermissionDenied(_("Only the person who asked can withdraw a request."))
    decision = _lock_pending(decision)
    decision.state, decision.decided_at = Decision.State.WITHDRAWN, now()
    decision.save(update_fields=["state", "decided_at"])
    record_ticket_event(decision.ticket, "approval_withdrawn", actor=actor, public=False, **_payload(decision))
    record_audit("approvals.withdrawn", decision, actor=actor, changes={"state": ["pending", "withdrawn"]})
    return decision


@dataclass(frozen=True)
class LimitChange:
    """One kind's settings as an administrator saves them: limits per role (None: may not decide alone)."""

    kind: DecisionKind
    agent: Decimal | None
    supervisor: Decimal | None
    active: bool


@transaction.atomic
def save_authority(changes: list[LimitChange], *, actor: User) -> int:
    """Set the limits (and whether each kind is in use); administrators only. Returns how many settings
    changed; each change has an audit row with its before and after."""
    if not (actor.is_active and actor.role == Role.ADMIN):
        raise PermissionDenied(_("Only administrators set the limits."))
    current: Mapping[tuple[int, str], AuthorityLimit] = {
        (row.kind_id, row.role): row
        for row in AuthorityLimit.objects.select_for_update().filter(kind__in=[c.kind.pk for c in changes])}
    changed = 0
    for change in changes:
        for role, wanted in ((LimitRole.AGENT, change.agent), (LimitRole.SUPERVISOR, change.supervisor)):
            if wanted is not None and (wanted < 0 or wanted > MAX_AMOUNT):
                raise DomainError(_("A limit is zero or more (%(kind)s).") % {"kind": change.kind.label()},
                                  code="invalid_amount")
            row = current.get((change.kind.pk, role))
            before = None if row is None else row.max_amount
            if before == wanted:
                continue
            if wanted is None:
                AuthorityLimit.objects.filter(pk=row.pk).delete()  # type: ignore[union-attr]
            elif row is None:
                AuthorityLimit.objects.create(kind=change.kind, role=role, max_amount=wanted, updated_at=now())
            else:
                row.max_amount, row.updated_at = wanted, now()
                row.save(update_fields=["max_amount", "updated_at"])
            record_audit("approvals.limit_changed", change.kind, actor=actor, changes={
                "role": role, "max_amount": [None if before is None else str(before),
                                             None if wanted is None else str(wanted)]})
            changed += 1
        if change.kind.active != change.active:
            change.kind.active = change.active
            change.kind.save(update_fields=["active"])
            record_audit("approvals.kind_active", change.kind, actor=actor, changes={"active": change.active})
            changed += 1
    return changed


def remind_waiting_requests(limit: int = 200) -> int:
    """Bring up, once, each request still pending after APPROVALS_REMIND_AFTER_MINUTES to those who may
    approve it. Idempotent: a request is claimed (reminded_at set, still pending) before its alert is written,
    in the same transaction. Returns how many were reminded."""
    minutes = conf.remind_after_minutes()
    if minutes <= 0:
        return 0
    due = list(Decision.objects.filter(state=Decision.State.PENDING, reminded_at__isnull=True,
                                       requested_at__lte=now() - dt.timedelta(minutes=minutes))
               .order_by("requested_at").values_list("pk", flat=True)[:limit])
    reminded = 0
    for pk in due:
        with transaction.atomic():
            if not Decision.objects.filter(pk=pk, state=Decision.State.PENDING, reminded_at__isnull=True).update(
                    reminded_at=now()):
                continue  # settled or reminded meanwhile
            decision = Decision.objects.select_related("ticket", "kind", "requested_by").get(pk=pk)
            _alert(_approvers(decision), "approval_reminder", decision, REMINDER_ALERT,
                   requester=decision.requested_by.name)
            reminded += 1
    return reminded
