"""Every read of the feedback loop for a person, and the figures the analytics read: CSAT per question
and NPS for a period, and each ticket's overall score.

CSAT is the share of answers of 4 or 5 to the "overall" question; NPS is the percentage of promoters
(9–10) minus the percentage of detractors (0–6) among the answers to the recommendation question.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.core.errors import NotFound
from kefu.feedback.models import FollowUpTask, PanelMember, Survey, SurveyAnswer, SurveyQuestion
from kefu.tickets.models import Ticket

Period = tuple[dt.datetime, dt.datetime]
"""[start, end) of the answers counted, aware datetimes."""

SATISFIED_SCORE = 4
"""An "overall" answer at or above this counts as satisfied (CSAT)."""
RESULT_READERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.QA})
FOLLOWUP_READERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
GROUPS = {"team": "survey__ticket__team__name", "owner": "survey__ticket__owner__username",
          "channel": "survey__ticket__channel"}


def reads_results(actor: User | Any) -> bool:
    return bool(getattr(actor, "is_active", False) and getattr(actor, "role", None) in RESULT_READERS)


def follows_up(actor: User | Any) -> bool:
    return bool(getattr(actor, "is_active", False) and getattr(actor, "role", None) in FOLLOWUP_READERS)


def active_questions() -> list[SurveyQuestion]:
    return list(SurveyQuestion.objects.filter(active=True))


def all_questions(actor: User | Any) -> QuerySet[SurveyQuestion]:
    if not (getattr(actor, "is_active", False) and getattr(actor, "role", None) == Role.ADMIN):
        return SurveyQuestion.objects.none()
    return SurveyQuestion.objects.annotate(answer_count=Count("answers"))


def get_question_for(actor: User | Any, question_id: int) -> SurveyQuestion:
    question = all_questions(actor).filter(pk=question_id).first()
    if question is None:
        raise NotFound(_not_found())
    return question


def _not_found() -> str:
    return _("Not found.")


# ---------------------------------------------------------------------------------------------- ticket page


@dataclass
class TicketFeedback:
    survey: Survey | None
    answers: list[SurveyAnswer] = field(default_factory=list)
    followup: FollowUpTask | None = None


def ticket_feedback(ticket: Ticket) -> TicketFeedback:
    """The survey of a ticket the caller already loaded through the access layer, its answers, its follow-up."""
    survey = (Survey.objects.filter(ticket_id=ticket.pk)
              .prefetch_related(Prefetch("answers", SurveyAnswer.objects.select_related("question")
                                         .order_by("question__position", "question__pk"))).first())
    if survey is None:
        return TicketFeedback(None)
    followup = FollowUpTask.objects.filter(survey=survey).select_related("assignee").first()
    return TicketFeedback(survey, list(survey.answers.all()), followup)


# ---------------------------------------------------------------------------------------------- follow-up


def followups(actor: User | Any, *, include_closed: bool = False) -> QuerySet[FollowUpTask]:
    """Follow-up tasks, open ones first by their next deadline (supervisors and administrators only)."""
    if not follows_up(actor):
        return FollowUpTask.objects.none()
    tasks = FollowUpTask.objects.select_related("ticket", "ticket__customer", "assignee", "survey")
    if not include_closed:
        tasks = tasks.exclude(state=FollowUpTask.State.CLOSED)
    return tasks.order_by("contact_due_at", "pk")


def get_followup_for(actor: User | Any, task_id: int) -> FollowUpTask:
    task = followups(actor, include_closed=True).filter(pk=task_id).first()
    if task is None:
        raise NotFound(_not_found())
    return task


# ---------------------------------------------------------------------------------------------- results


def responses(actor: User | Any, period: Period) -> QuerySet[Survey]:
    """Answered surveys in the period, newest first, with their answers (supervisors, admins, QA)."""
    if not reads_results(actor):
        return Survey.objects.none()
    return (Survey.objects.filter(state=Survey.State.ANSWERED, answered_at__gte=period[0], answered_at__lt=period[1])
            .select_related("ticket", "customer")
            .prefetch_related(Prefetch("answers", SurveyAnswer.objects.select_related("question")
                                       .order_by("question__position", "question__pk")))
            .order_by("-answered_at"))


def is_panel_member(survey: Survey) -> bool:
    """Whether the survey's customer is already on the service experience panel."""
    return PanelMember.objects.filter(customer_id=survey.customer_id).exists()


def panel_members(actor: User | Any) -> QuerySet[PanelMember]:
    if not reads_results(actor):
        return PanelMember.objects.none()
    return PanelMember.objects.select_related("customer")


def _answers(period: Period) -> QuerySet[SurveyAnswer]:
    return SurveyAnswer.objects.filter(survey__answered_at__gte=period[0], survey__answered_at__lt=period[1],
                                       score__isnull=False)


@dataclass(frozen=True)
class Csat:
    group: str
    responses: int
    satisfied: int
    means: dict[str, float]

    @property
    def csat(self) -> float | None:
        """Percentage of 4–5 answers to "overall"; None without answers."""
        return round(100 * self.satisfied / self.responses, 1) if self.responses else None


def csat_summary(period: Period, by: str | None = None) -> list[Csat]:
    """CSAT (share of 4–5 on "overall") and the mean of each 1–5 question, in total or per group
    ("team", "owner" or "channel" of the ticket). Totals first; groups by name."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"csat_summary cannot group by {by}")
    answers = _answers(period).filter(question__kind=SurveyQuestion.Kind.SCORE)
    group = GROUPS[by] if by else None
    counts = {"n": Count("pk"), "good": Count("pk", filter=Q(score__gte=SATISFIED_SCORE))}
    overall = answers.filter(question__key="overall")
    overall_rows = list(overall.values(group).annotate(**counts)) if group else [overall.aggregate(**counts)]
    mean_rows = answers.values(*([group] if group else []), "question__key").annotate(mean=Avg("score"))
    rows: dict[str, dict[str, Any]] = {}

    def entry(row: dict[str, Any]) -> dict[str, Any]:
        name = str(row[group] or "") if group else ""
        return rows.setdefault(name, {"n": 0, "good": 0, "means": {}})

    for row in overall_rows:
        if row["n"]:
            entry(row).update(n=row["n"], good=row["good"])
    for row in mean_rows:
        entry(row)["means"][row["question__key"]] = round(float(row["mean"]), 2)
    if not group and not rows:
        rows[""] = {"n": 0, "good": 0, "means": {}}
    return [Csat(name, data["n"], data["good"], data["means"]) for name, data in sorted(rows.items())]


@dataclass(frozen=True)
class Nps:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        """Promoters minus detractors, as a percentage of responses; None without answers."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)


def nps(period: Period) -> Nps:
    counts = _answers(period).filter(question__kind=SurveyQuestion.Kind.NPS).aggregate(
        n=Count("pk"), promoters=Count("pk", filter=Q(score__gte=9)), detractors=Count("pk", filter=Q(score__lte=6)))
    n, promoters, detractors = counts["n"], counts["promoters"], counts["detractors"]
    return Nps(n, promoters, n - promoters - detractors, detractors)


def overall_score_by_ticket(ticket_ids: Iterable[int] | QuerySet[Any]) -> dict[int, int]:
    """Each ticket's answer (1–5) to "overall", for those that have one. A queryset of ids is used as a
    subquery (one query in all)."""
    ids = ticket_ids if isinstance(ticket_ids, QuerySet) else list(ticket_ids)
    if not isinstance(ids, QuerySet) and not ids:
        return {}
    rows = SurveyAnswer.objects.filter(survey__ticket_id__in=ids, question__key="overall", score__isnull=False)
    return {int(ticket_id): int(score) for ticket_id, score in rows.values_list("survey__ticket_id", "score")
            if score is not None}
