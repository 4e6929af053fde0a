"""Every read of quality assurance for a user, and the pass rates the analytics read.

QA reviewers, supervisors and administrators see the queue and every review; an agent sees the
submitted reviews of their own work and their rework tasks; nobody else sees anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, Role, User
from kefu.core.clock import now
from kefu.core.errors import NotFound
from kefu.quality.models import MAX_SCORE, Criterion, CriterionScore, MessageComment, QaReview, QaSample, ReworkTask
from kefu.quality.services import is_reviewer
from kefu.tickets.models import Ticket


def _is_agent(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.is_active and actor.role in {
        Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


# ---------------------------------------------------------------------------------------------- the queue


def review_queue(actor: User, *, days: int = 7) -> list[QaSample]:
    """Samples of the last ``days`` days whose primary review is not submitted yet, newest day first;
    each with the drafts begun on it (``ticket.draft_reviews``)."""
    if not is_reviewer(actor):
        return []
    since = timezone.localdate(now()) - dt.timedelta(days=days)
    done = QaReview.objects.filter(ticket=OuterRef("ticket"), calibration_of__isnull=True,
                                   state=QaReview.State.SUBMITTED)
    drafts = QaReview.objects.filter(state=QaReview.State.DRAFT).select_related("reviewer")
    return list(QaSample.objects.filter(day__gte=since).exclude(Exists(done))
                .select_related("ticket", "agent")
                .prefetch_related(Prefetch("ticket__qa_reviews", queryset=drafts, to_attr="draft_reviews"))
                .order_by("-day", "ticket_id")[:500])


def sample_of(actor: User, ticket: Ticket) -> QaSample | None:
    return QaSample.objects.filter(ticket=ticket).first() if is_reviewer(actor) else None


def my_drafts(actor: User) -> list[QaReview]:
    if not is_reviewer(actor):
        return []
    return list(QaReview.objects.filter(reviewer=actor, state=QaReview.State.DRAFT)
                .select_related("ticket", "agent").order_by("created_at")[:200])


def recent_reviews(actor: User, *, limit: int = 50) -> list[QaReview]:
    if not is_reviewer(actor):
        return []
    return list(QaReview.objects.filter(state=QaReview.State.SUBMITTED)
                .select_related("ticket", "agent", "reviewer").order_by("-submitted_at", "-pk")[:limit])


# ---------------------------------------------------------------------------------------------- reviews


def reviews_for_ticket(actor: User, ticket: Ticket) -> list[QaReview]:
    """The ticket's reviews this person may see: all of them for reviewers; for an agent, the submitted
    reviews of their own work; none for anybody else."""
    reviews = QaReview.objects.filter(ticket=ticket).select_related("reviewer", "agent").order_by("created_at", "pk")
    if is_reviewer(actor):
        return list(reviews)
    if _is_agent(actor):
        return list(reviews.filter(agent=actor, state=QaReview.State.SUBMITTED))
    return []


def reviews_of(agent: User) -> QuerySet[QaReview]:
    """The agent's submitted primary reviews (calibrations measure reviewers, not the agent), newest first."""
    return (QaReview.objects.filter(agent=agent, state=QaReview.State.SUBMITTED, calibration_of__isnull=True)
            .select_related("ticket", "reviewer").order_by("-submitted_at", "-pk"))


@dataclass(frozen=True)
class ReviewSheet:
    review: QaReview
    criteria: list[Criterion]
    scores: dict[int, CriterionScore]
    comments: dict[int, str]  # message id → comment


def review_sheet(review: QaReview) -> ReviewSheet:
    scores = {s.criterion_id: s for s in review.scores.all()}
    criteria = list(review.scorecard.criteria.filter(Q(active=True) | Q(pk__in=list(scores))))
    comments = dict(MessageComment.objects.filter(review=review).values_list("message_id", "text"))
    return ReviewSheet(review, criteria, scores, comments)


# ---------------------------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CalibrationRow:
    criterion: Criterion
    scores: list[int | None]  # per review, None = not applicable or not scored
    difference: int | None  # highest minus lowest of the scored ones


@dataclass(frozen=True)
class Calibration:
    reviews: list[QaReview]  # submitted, the primary review first
    rows: list[CalibrationRow]
    total_difference: Decimal | None
    agree: bool | None  # do all reviews give the same verdict?


def calibration(actor: User, ticket: Ticket) -> Calibration:
    if not is_reviewer(actor):
        raise NotFound(_("Not found."))
    reviews = list(QaReview.objects.filter(ticket=ticket, state=QaReview.State.SUBMITTED)
                   .select_related("reviewer").prefetch_related("scores").order_by("calibration_of", "submitted_at"))
    reviews.sort(key=lambda r: (r.calibration_of_id is not None, r.submitted_at or now()))
    per_review = [{s.criterion_id: s.score for s in r.scores.all()} for r in reviews]
    ids = {pk for scores in per_review for pk in scores}
    rows = []
    for criterion in Criterion.objects.filter(pk__in=ids).order_by("position", "pk"):
        values = [scores.get(criterion.pk) for scores in per_review]
        scored = [v for v in values if v is not None]
        rows.append(CalibrationRow(criterion, values, max(scored) - min(scored) if len(scored) > 1 else None))
    totals = [r.total for r in reviews if r.total is not None]
    return Calibration(
        reviews=reviews, rows=rows,
        total_difference=(max(totals) - min(totals)) if len(totals) > 1 else None,
        agree=len({r.passed for r in reviews}) == 1 if len(reviews) > 1 else None)


# ---------------------------------------------------------------------------------------------- rework


def rework_tasks(actor: User, *, state: str | None = None) -> QuerySet[ReworkTask]:
    """An agent's own rework tasks; every task for supervisors, administrators and QA reviewers."""
    tasks = ReworkTask.objects.select_related("ticket", "agent", "review", "review__reviewer")
    if state:
        tasks = tasks.filter(state=state)
    if is_reviewer(actor):
        return tasks.order_by("state", "due_at", "pk")
    if _is_agent(actor):
        return tasks.filter(agent=actor).order_by("state", "due_at", "pk")
    return tasks.none()


def get_rework_task_for(actor: User, task_id: int) -> ReworkTask:
    task = rework_tasks(actor).filter(pk=task_id).first()
    if task is None:
        raise NotFound(_("Not found."))
    return task


def open_rework_for_ticket(actor: User, ticket: Ticket) -> list[ReworkTask]:
    """The rework tasks on a ticket the actor sees, for its page: the tasks' own fields only (no joins)."""
    return list(rework_tasks(actor).filter(ticket=ticket).select_related(None))


# ---------------------------------------------------------------------------------------------- pass rates


@dataclass(frozen=True)
class Rate:
    key: int | str | None
    label: str
    reviews: int
    passed: int  # for criteria: the number of scores
    rate: Decimal | None  # percent: passed reviews; for criteria the mean score as a percentage of 5


def _period_reviews(period: tuple[dt.datetime, dt.datetime]) -> QuerySet[QaReview]:
    start, end = period
    return QaReview.objects.filter(state=QaReview.State.SUBMITTED, calibration_of__isnull=True,
                                   submitted_at__gte=start, submitted_at__lt=end)


def _percent(part: float | int | Decimal | None, whole: float | int | Decimal) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(Decimal("0.1"))


def pass_rates(period: tuple[dt.datetime, dt.datetime],
               by: Literal["agent", "team", "criterion"] = "agent") -> list[Rate]:
    """QA pass rates of the primary reviews submitted in [start, end): per agent or team the share of
    passed reviews; per criterion the mean score as a percentage of the maximum (5)."""
    reviews = _period_reviews(period)
    if by == "criterion":
        scores = (CriterionScore.objects.filter(review__in=reviews, score__isnull=False)
                  .values("criterion").annotate(n=Count("pk"), mean=Avg("score"),
                                                reviews=Count("review", distinct=True)))
        criteria = {c.pk: c for c in Criterion.objects.filter(pk__in=[row["criterion"] for row in scores])}
        rows = [Rate(criteria[row["criterion"]].key, criteria[row["criterion"]].label(), row["reviews"], row["n"],
                     _percent(row["mean"], MAX_SCORE)) for row in scores]
        return sorted(rows, key=lambda r: (criteria_position(criteria, r.key), str(r.key)))
    if by not in {"agent", "team"}:
        raise ValueError(f"pass rates by {by!r}")
    grouped = reviews.values(by).annotate(n=Count("pk"), ok=Count("pk", filter=Q(passed=True)))
    ids = [row[by] for row in grouped if row[by] is not None]
    model: type[User] | type[Department] = User if by == "agent" else Department
    names = {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)}
    nobody = _("No agent") if by == "agent" else _("No team")
    rows = [Rate(row[by], names.get(row[by], nobody), row["n"], row["ok"], _percent(row["ok"], row["n"]))
            for row in grouped]
    return sorted(rows, key=lambda r: (r.label, str(r.key)))


def criteria_position(criteria: dict[int, Criterion], key: int | str | None) -> int:
    return next((c.position for c in criteria.values() if c.key == key), 0)


def overall_pass_rate(period: tuple[dt.datetime, dt.datetime]) -> Rate:
    totals = _period_reviews(period).aggregate(n=Count("pk"), ok=Count("pk", filter=Q(passed=True)))
    return Rate(None, _("All"), totals["n"], totals["ok"], _percent(totals["ok"], totals["n"]))
