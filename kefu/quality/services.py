"""Every write of quality assurance: the daily sample, scorecards, reviews, rework.

Each step on a ticket goes on its timeline as an internal event (``qa_*``, never public): the
customer's portal and tracking pages show nothing of QA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kefu.accounts.models import Role, User
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.notifications.services import StaffAlertRequest, alert_staff_many
from kefu.quality import conf, sampling, scoring
from kefu.quality.models import (
    MAX_SCORE,
    Criterion,
    CriterionScore,
    MessageComment,
    QaReview,
    QaSample,
    ReworkTask,
    SamplingRun,
    Scorecard,
)
from kefu.sla import businesstime
from kefu.sla.calendars import calendar_for
from kefu.sla.models import BusinessCalendar, TicketClock
from kefu.tickets.models import Message, Ticket, TicketEvent
from kefu.tickets.services import record_ticket_event
from kefu.tickets.states import Status

REVIEWER_ROLES = frozenset({Role.QA, Role.SUPERVISOR, Role.ADMIN})
"""Who samples, reviews, calibrates and edits scorecards (there is no separate QA-lead role)."""
REWORK_CLOSERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
"""Who may mark someone else's rework as done."""
NOT_APPLICABLE = None
REWORK_ALERT_TEXT = gettext_noop("#%(number)s failed its quality review (%(total)s %%). Please rework it by %(due)s.")


def is_reviewer(actor: User | None) -> bool:
    return bool(actor is not None and actor.is_active and actor.role in REVIEWER_ROLES)


def _require_reviewer(actor: User) -> None:
    if not is_reviewer(actor):
        raise PermissionDenied(_("Only QA reviewers, supervisors and administrators do quality reviews."))


# ---------------------------------------------------------------------------------------------- sampling


def _local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def _closed_unsampled(start: dt.datetime, end: dt.datetime) -> QuerySet[Ticket]:
    return Ticket.objects.filter(status=Status.CLOSED, closed_at__gte=start, closed_at__lt=end,
                                 qa_sample__isnull=True)


def mandatory_reasons(tickets: QuerySet[Ticket]) -> dict[int, set[str]]:
    """Per ticket, the signals that make its review mandatory, read from the event log and its fields."""
    reasons: dict[int, set[str]] = {}
    for ticket_id in tickets.filter(reopened_count__gt=0).values_list("pk", flat=True):
        reasons.setdefault(ticket_id, set()).add("reopened")
    events = TicketEvent.objects.filter(ticket__in=tickets.values("pk"),
                                        type__in=["survey_answered", "sla_breached", "escalated"])
    for ticket_id, type_, payload in events.values_list("ticket_id", "type", "payload"):
        if type_ == "survey_answered" and not (isinstance(payload, dict) and payload.get("bad") is True):
            continue
        reason = {"survey_answered": "bad_score", "sla_breached": "breached", "escalated": "escalated"}[type_]
        reasons.setdefault(ticket_id, set()).add(reason)
    breached = TicketClock.objects.filter(ticket__in=tickets.values("pk"), state=TicketClock.State.BREACHED)
    for ticket_id in breached.values_list("ticket_id", flat=True):
        reasons.setdefault(ticket_id, set()).add("breached")
    return reasons


def sample_day(day: dt.date, *, rate: float | None = None) -> SamplingRun | None:
    """Sample the tickets closed on ``day`` (settings time zone); None when that day is sampled already.

    Idempotent: the day's run row is unique, so a second run (two schedulers, the command run by hand)
    changes nothing; the draw is seeded with the day, so it would pick the same tickets anyway.
    """
    rate = float(conf.get("QA_SAMPLE_RATE") if rate is None else rate)
    sampling.exact_rate(rate)  # refuses a rate outside [0, 1] before anything is written
    start, end = _local_day_bounds(day)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = SamplingRun.objects.create(day=day, rate=Decimal(str(rate)).quantize(Decimal("0.0001")))
        except IntegrityError:
            return None
        population = _closed_unsampled(start, end)
        flags = mandatory_reasons(population)
        rows = list(population.values_list("pk", "owner_id", "channel"))
        candidates = [sampling.Candidate(pk, owner, channel, tuple(flags.get(pk, ())))
                      for pk, owner, channel in rows]
        picks = sampling.choose(candidates, rate, seed=day.isoformat())
        late = _closed_unsampled(start - dt.timedelta(days=int(conf.get("QA_LATE_SIGNAL_DAYS"))), start)
        picks += [sampling.Pick(pk, sampling.ordered_reasons(tuple(reasons)))
                  for pk, reasons in sorted(mandatory_reasons(late).items())]
        _record_samples(day, picks)
        run.closed, run.sampled = len(rows), len(picks)
        run.save(update_fields=["closed", "sampled"])
    return run


def _record_samples(day: dt.date, picks: list[sampling.Pick]) -> None:
    reasons = {pick.ticket_id: pick.reasons for pick in picks}
    tickets = Ticket.objects.filter(pk__in=list(reasons)).order_by("pk")
    QaSample.objects.bulk_create([
        QaSample(day=day, ticket=ticket, reason=reasons[ticket.pk][0], reasons=list(reasons[ticket.pk]),
                 agent_id=ticket.owner_id, channel=ticket.channel) for ticket in tickets])
    for ticket in tickets:
        record_ticket_event(ticket, "qa_sampled", actor=None, day=day.isoformat(), reasons=list(reasons[ticket.pk]))


def sample_previous_day() -> SamplingRun | None:
    """The scheduler's daily turn: once the configured hour has passed, sample yesterday (once)."""
    local = now().astimezone(ZoneInfo(settings.TIME_ZONE))
    if local.hour < int(conf.get("QA_SAMPLE_AFTER_HOUR")):
        return None
    day = local.date() - dt.timedelta(days=1)
    if SamplingRun.objects.filter(day=day).exists():
        return None
    return sample_day(day)


# ---------------------------------------------------------------------------------------------- scorecards


def current_scorecard() -> Scorecard:
    card = Scorecard.objects.filter(active=True).order_by("-updated_at", "-pk").first()
    if card is None:
        raise DomainError(_("There is no active scorecard. Activate one in the scorecard editor."),
                          code="no_scorecard")
    return card


def _check_weight(weight: int) -> None:
    if not 0 <= weight <= 100:
        raise DomainError(_("A weight lies between 0 and 100."), code="invalid_weight")


def _check_has_weight(card: Scorecard) -> None:
    if not card.criteria.filter(active=True, weight__gt=0).exists():
        raise DomainError(_("A scorecard needs at least one active criterion with a weight."), code="no_weight")


@transaction.atomic
def update_scorecard(card: Scorecard, *, name: str, pass_mark: int, active: bool, actor: User) -> Scorecard:
    _require_reviewer(actor)
    name = " ".join(name.split())[:100]
    if not name:
        raise DomainError(_("A scorecard needs a name."), code="name_required")
    if not 0 <= pass_mark <= 100:
        raise DomainError(_("The pass mark is a percentage between 0 and 100."), code="invalid_pass_mark")
    if Scorecard.objects.filter(name=name).exclude(pk=card.pk).exists():
        raise DomainError(_("Another scorecard has this name."), code="duplicate_name")
    changes = {field: str(value) for field, value in
               (("name", name), ("pass_mark", pass_mark), ("active", active)) if getattr(card, field) != value}
    card.name, card.pass_mark, card.active, card.updated_at = name, pass_mark, active, now()
    card.save(update_fields=["name", "pass_mark", "active", "updated_at"])
    record_audit("quality.scorecard_updated", card, actor=actor, changes=changes)
    return card


@transaction.atomic
def update_criterion(criterion: Criterion, *, name_en: str, name_zh: str, weight: int, position: int,
                     critical: bool, active: bool, actor: User) -> Criterion:
    """Weights and names change the scorecard for reviews submitted from now on; submitted totals stay."""
    _require_reviewer(actor)
    _check_weight(weight)
    name_en, name_zh = " ".join(name_en.split())[:100], " ".join(name_zh.split())[:100]
    if not name_en or not name_zh:
        raise DomainError(_("A criterion needs an English and a Chinese name."), code="name_required")
    values = {"name_en": name_en, "name_zh": name_zh, "weight": weight, "position": max(0, position),
              "critical": critical, "active": active}
    changes = {field: str(value) for field, value in values.items() if getattr(criterion, field) != value}
    for field, value in values.items():
        setattr(criterion, field, value)
    criterion.save(update_fields=list(values))
    _check_has_weight(criterion.scorecard)
    Scorecard.objects.filter(pk=criterion.scorecard_id).update(updated_at=now())
    record_audit("quality.criterion_updated", criterion, actor=actor, changes=changes)
    return criterion


@transaction.atomic
def add_criterion(card: Scorecard, *, key: str, name_en: str, name_zh: str, weight: int, critical: bool,
                  actor: User) -> Criterion:
    _require_reviewer(actor)
    _check_weight(weight)
    key = key.strip().lower().replace("-", "_")
    if not key or not key.replace("_", "").isalnum() or not key.isascii() or len(key) > 40:
        raise DomainError(_("The key may contain lower-case letters, digits and underscores (up to 40)."),
                          code="invalid_key")
    if card.criteria.filter(key=key).exists():
        raise DomainError(_("This scorecard has a criterion with this key already."), code="duplicate_key")
    name_en, name_zh = " ".join(name_en.split())[:100], " ".join(name_zh.split())[:100]
    if not name_en or not name_zh:
        raise DomainError(_("A criterion needs an English and a Chinese name."), code="name_required")
    position = (card.criteria.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    criterion = Criterion.objects.create(scorecard=card, key=key, name_en=name_en, name_zh=name_zh, weight=weight,
                                         position=position, critical=critical)
    Scorecard.objects.filter(pk=card.pk).update(updated_at=now())
    record_audit("quality.criterion_added", criterion, actor=actor, changes={"key": key, "weight": weight})
    return criterion


# ---------------------------------------------------------------------------------------------- reviews


@transaction.atomic
def start_review(ticket: Ticket, *, actor: User) -> QaReview:
    """The actor's review of the ticket, begun now or earlier. The ticket's first review is its primary
    review (it decides pass/fail and rework); a second reviewer's is a calibration of it."""
    _require_reviewer(actor)
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)  # one primary review, even when two begin at once
    existing = QaReview.objects.filter(ticket=locked, reviewer=actor).first()
    if existing is not None:
        return existing
    if locked.owner_id == actor.pk:
        raise PermissionDenied(_("You cannot review a ticket you handled yourself."))
    primary = QaReview.objects.filter(ticket=locked, calibration_of__isnull=True).select_related("scorecard").first()
    review = QaReview.objects.create(
        ticket=locked, sample=QaSample.objects.filter(ticket=locked).first(), reviewer=actor,
        agent_id=locked.owner_id, team_id=locked.team_id,
        scorecard=primary.scorecard if primary else current_scorecard(), calibration_of=primary)
    record_audit("quality.review_started", review, actor=actor,
                 changes={"ticket": locked.pk, "calibration_of": primary.pk if primary else None})
    return review


def _criteria(review: QaReview) -> list[Criterion]:
    return list(review.scorecard.criteria.filter(active=True))


@transaction.atomic
def save_review(review: QaReview, *, scores: Mapping[int, int | None], comments: Mapping[int, str] | None = None,
                message_comments: Mapping[int, str] | None = None, summary: str = "", submit: bool = False,
                actor: User) -> QaReview:
    """Save the reviewer's draft; with ``submit`` also score it and make it final.

    ``scores`` maps a criterion id to 0–5, or to None for "not applicable"; a criterion left out is not
    scored yet (allowed in a draft only). ``comments`` are per criterion, ``message_comments`` per message.
    """
    review = QaReview.objects.select_for_update().select_related("scorecard", "ticket").get(pk=review.pk)
    if review.reviewer_id != actor.pk:
        raise PermissionDenied(_("Only the reviewer can change this review."))
    _require_reviewer(actor)
    if review.is_submitted:
        raise DomainError(_("This review is submitted; it cannot be changed."), code="submitted")
    criteria = {c.pk: c for c in _criteria(review)}
    comments = comments or {}
    for criterion_id, score in scores.items():
        if criterion_id not in criteria:
            raise DomainError(_("This criterion is not on the review's scorecard."), code="invalid_criterion")
        if score is not None and not 0 <= score <= MAX_SCORE:
            raise DomainError(_("A score lies between 0 and 5."), code="invalid_score")
    texts = {pk: text.strip() for pk, text in (message_comments or {}).items() if text.strip()}
    if set(texts) - set(Message.objects.filter(ticket=review.ticket, pk__in=list(texts)).values_list("pk", flat=True)):
        raise DomainError(_("A comment refers to a message of another ticket."), code="invalid_message")
    review.scores.all().delete()
    CriterionScore.objects.bulk_create([
        CriterionScore(review=review, criterion_id=pk, score=score, comment=comments.get(pk, "").strip())
        for pk, score in scores.items()])
    review.message_comments.all().delete()
    MessageComment.objects.bulk_create([MessageComment(review=review, message_id=pk, text=text)
                                        for pk, text in texts.items()])
    review.summary = summary.strip()
    fields = ["summary"]
    if submit:
        missing = [c.label() for pk, c in criteria.items() if pk not in scores]
        if missing:
            raise DomainError(_("Score every criterion (or mark it not applicable): %(names)s.")
                              % {"names": ", ".join(missing)}, code="incomplete")
        try:
            result = scoring.verdict([scoring.Scored(criteria[pk].weight, score, criteria[pk].critical)
                                      for pk, score in scores.items()], review.scorecard.pass_mark)
        except scoring.NothingScored:
            raise DomainError(_("Score at least one criterion that carries weight."), code="nothing_scored") from None
        review.state, review.total, review.passed, review.submitted_at = (
            QaReview.State.SUBMITTED, result.total, result.passed, now())
        fields += ["state", "total", "passed", "submitted_at"]
    review.save(update_fields=fields)
    if submit:
        _record_submission(review)
    return review


def _record_submission(review: QaReview) -> None:
    ticket = review.ticket
    record_ticket_event(ticket, "qa_reviewed", actor=review.reviewer, review=review.pk, total=str(review.total),
                        passed=review.passed, calibration=review.is_calibration)
    if review.passed or review.is_calibration:
        return  # only the primary review decides; a calibration measures the reviewers' agreement
    record_ticket_event(ticket, "qa_failed", actor=review.reviewer, review=review.pk, total=str(review.total))
    _open_rework(review)


def rework_due(start: dt.datetime) -> dt.datetime:
    name = str(conf.get("QA_REWORK_CALENDAR") or "")
    calendar_id = BusinessCalendar.objects.filter(name=name).values_list("pk", flat=True).first() if name else None
    calendar = calendar_for(calendar_id, settings.TIME_ZONE)
    return businesstime.add(calendar, start, float(conf.get("QA_REWORK_HOURS")) * 3600)


def _open_rework(review: QaReview) -> ReworkTask:
    ticket = review.ticket
    task = ReworkTask.objects.create(review=review, ticket=ticket, agent_id=review.agent_id, due_at=rework_due(now()))
    record_ticket_event(ticket, "qa_rework_opened", actor=review.reviewer, task=task.pk, agent=review.agent_id,
                        due_at=task.due_at.isoformat())
    agent = User.objects.filter(pk=review.agent_id, is_active=True).first() if review.agent_id else None
    if agent is not None:
        due = task.due_at.astimezone(ZoneInfo(agent.time_zone or settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M")
        alert_staff_many([StaffAlertRequest(agent, "qa_rework", ticket.pk, lambda _language: _(REWORK_ALERT_TEXT) % {
            "number": ticket.number, "total": review.total, "due": due})])
    return task


@transaction.atomic
def complete_rework(task: ReworkTask, note: str, *, actor: User) -> ReworkTask:
    """The agent says what they did; a supervisor or administrator may close someone else's task."""
    task = ReworkTask.objects.select_for_update().select_related("ticket").get(pk=task.pk)
    if task.agent_id != actor.pk and not (actor.is_active and actor.role in REWORK_CLOSERS):
        raise PermissionDenied(_("Only the ticket's agent or a supervisor can complete this rework."))
    if not actor.can_write_tickets:
        raise PermissionDenied(_("Only the ticket's agent or a supervisor can complete this rework."))
    if task.state == ReworkTask.State.DONE:
        raise DomainError(_("This rework is already done."), code="already_done")
    note = note.strip()
    if not note:
        raise DomainError(_("Say what you did to rework the ticket."), code="note_required")
    task.state, task.note, task.done_at, task.done_by = ReworkTask.State.DONE, note[:5000], now(), actor
    task.save(update_fields=["state", "note", "done_at", "done_by"])
    record_ticket_event(task.ticket, "qa_rework_done", actor=actor, task=task.pk, note=task.note,
                        late=task.done_at > task.due_at)
    return task
