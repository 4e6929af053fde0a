"""The console's quality-assurance pages (质检): the review queue, a ticket's scorecard beside its
conversation, calibration, the scorecard editor, pass rates, and the agents' rework list.

QA reviewers, supervisors and administrators use the QA pages; an agent sees the submitted reviews of
their own tickets (on the ticket page) and their rework tasks. Customers see nothing of QA.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.core.clock import now
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.quality import selectors, services
from kefu.quality.models import Criterion, QaReview, ReworkTask, SampleReason, Scorecard
from kefu.tickets import selectors as ticket_selectors
from kefu.tickets.models import Ticket
from kefu.web.console.views import StaffRequest, staff_required

MAX_COMMENT = 5000


def _require_reviewer(request: StaffRequest) -> None:
    if not services.is_reviewer(request.user):
        raise DjangoPermissionDenied(_("Only QA reviewers, supervisors and administrators do quality reviews."))


def _ticket(request: StaffRequest, ticket_id: int) -> Ticket:
    try:
        return ticket_selectors.get_ticket_for(request.user, ticket_id)
    except NotFound:
        raise Http404 from None


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


# ---------------------------------------------------------------------------------------------- queue


@require_GET
@staff_required
def qa_queue(request: StaffRequest) -> HttpResponse:
    _require_reviewer(request)
    return render(request, "web/console/quality/queue.html", {
        "samples": selectors.review_queue(request.user), "drafts": selectors.my_drafts(request.user),
        "recent": selectors.recent_reviews(request.user)})


# ---------------------------------------------------------------------------------------------- review


def _score(value: str) -> tuple[bool, int | None]:
    """(given, score): "" is not given, "na" is not applicable, "0"–"5" a score."""
    if value == "na":
        return True, None
    if value.isdigit():
        return True, int(value)
    return False, None


def _posted_review(request: StaffRequest, review: QaReview) -> dict[str, Any]:
    scores: dict[int, int | None] = {}
    comments: dict[int, str] = {}
    for criterion in review.scorecard.criteria.filter(active=True):
        given, score = _score(request.POST.get(f"score_{criterion.pk}", ""))
        if given:
            scores[criterion.pk] = score
        comments[criterion.pk] = request.POST.get(f"comment_{criterion.pk}", "")[:MAX_COMMENT]
    message_comments = {int(key.removeprefix("message_")): value[:MAX_COMMENT] for key, value in request.POST.items()
                        if key.startswith("message_") and key.removeprefix("message_").isdigit()}
    return {"scores": scores, "comments": comments, "message_comments": message_comments,
            "summary": request.POST.get("summary", "")[:MAX_COMMENT]}


@require_http_methods(["GET", "POST"])
@staff_required
def qa_review(request: StaffRequest, ticket_id: int) -> HttpResponse:
    _require_reviewer(request)
    ticket = _ticket(request, ticket_id)
    if request.method == "POST":
        try:
            review = services.start_review(ticket, actor=request.user)
            submit = request.POST.get("action") == "submit"
            services.save_review(review, **_posted_review(request, review), submit=submit, actor=request.user)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Review submitted.") if submit else _("Draft saved."))
        return redirect(request.path)
    mine = QaReview.objects.filter(ticket=ticket, reviewer=request.user).first()
    others = [r for r in selectors.reviews_for_ticket(request.user, ticket) if r.reviewer_id != request.user.pk]
    primary = next((r for r in others if not r.is_calibration), None)
    try:
        scorecard = mine.scorecard if mine else primary.scorecard if primary else services.current_scorecard()
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:console_qa")
    sheet = selectors.review_sheet(mine) if mine else None
    criteria = sheet.criteria if sheet else list(scorecard.criteria.filter(active=True))
    thread = list(ticket_selectors.visible_messages(request.user, ticket))
    comments = sheet.comments if sheet else {}
    return render(request, "web/console/quality/review.html", {
        "ticket": ticket, "review": mine, "scorecard": scorecard,
        "rows": [(c, sheet.scores.get(c.pk) if sheet else None) for c in criteria],
        "thread": [(m, comments.get(m.pk, "")) for m in thread],
        "calibrating": primary is not None and (mine is None or mine.is_calibration),
        "others_submitted": [r for r in others if r.is_submitted],
        "own_ticket": ticket.owner_id == request.user.pk, "score_choices": range(0, 6),
        "sample": selectors.sample_of(request.user, ticket)})


@require_GET
@staff_required
def qa_calibration(request: StaffRequest, ticket_id: int) -> HttpResponse:
    _require_reviewer(request)
    ticket = _ticket(request, ticket_id)
    result = selectors.calibration(request.user, ticket)
    return render(request, "web/console/quality/calibration.html", {"ticket": ticket, "calibration": result})


# ---------------------------------------------------------------------------------------------- scorecards


@require_http_methods(["GET", "POST"])
@staff_required
def qa_scorecards(request: StaffRequest) -> HttpResponse:
    _require_reviewer(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "criterion":
                criterion = Criterion.objects.select_related("scorecard").filter(
                    pk=_int(request.POST.get("criterion"))).first()
                if criterion is None:
                    raise Http404
                services.update_criterion(
                    criterion, name_en=request.POST.get("name_en", ""), name_zh=request.POST.get("name_zh", ""),
                    weight=_int(request.POST.get("weight"), -1), position=_int(request.POST.get("position")),
                    critical=request.POST.get("critical") == "on", active=request.POST.get("active") == "on",
                    actor=request.user)
            else:
                card = Scorecard.objects.filter(pk=_int(request.POST.get("scorecard"))).first()
                if card is None:
                    raise Http404
                if action == "add":
                    services.add_criterion(
                        card, key=request.POST.get("key", ""), name_en=request.POST.get("name_en", ""),
                        name_zh=request.POST.get("name_zh", ""), weight=_int(request.POST.get("weight"), -1),
                        critical=request.POST.get("critical") == "on", actor=request.user)
                else:
                    services.update_scorecard(
                        card, name=request.POST.get("name", ""), pass_mark=_int(request.POST.get("pass_mark"), -1),
                        active=request.POST.get("active") == "on", actor=request.user)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The scorecard is saved."))
        return redirect("web:console_qa_scorecards")
    cards = list(Scorecard.objects.prefetch_related("criteria").order_by("-active", "name"))
    return render(request, "web/console/quality/scorecards.html", {"scorecards": cards})


# ---------------------------------------------------------------------------------------------- pass rates


@require_GET
@staff_required
def qa_rates(request: StaffRequest) -> HttpResponse:
    _require_reviewer(request)
    days = min(max(_int(request.GET.get("days"), 30), 1), 366)
    period = (now() - dt.timedelta(days=days), now())
    return render(request, "web/console/quality/rates.html", {
        "days": days, "overall": selectors.overall_pass_rate(period),
        "by_agent": selectors.pass_rates(period, by="agent"), "by_team": selectors.pass_rates(period, by="team"),
        "by_criterion": selectors.pass_rates(period, by="criterion")})


# ---------------------------------------------------------------------------------------------- rework


@require_GET
@staff_required
def rework(request: StaffRequest) -> HttpResponse:
    tasks = selectors.rework_tasks(request.user)
    return render(request, "web/console/quality/rework.html", {
        "open_tasks": list(tasks.filter(state=ReworkTask.State.OPEN)[:500]),
        "done_tasks": list(tasks.filter(state=ReworkTask.State.DONE).order_by("-done_at")[:50])})


@require_POST
@staff_required
def rework_done(request: StaffRequest, task_id: int) -> HttpResponse:
    try:
        task = selectors.get_rework_task_for(request.user, task_id)
        services.complete_rework(task, request.POST.get("note", "")[:MAX_COMMENT], actor=request.user)
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Rework recorded as done."))
    back = request.POST.get("next", "")
    if back.startswith("/console/") and "//" not in back:
        return redirect(back)
    return redirect("web:console_rework")


urlpatterns: list[URLPattern] = [
    path("console/qa/", qa_queue, name="console_qa"),
    path("console/qa/tickets/<int:ticket_id>/review/", qa_review, name="console_qa_review"),
    path("console/qa/tickets/<int:ticket_id>/calibration/", qa_calibration, name="console_qa_calibration"),
    path("console/qa/scorecards/", qa_scorecards, name="console_qa_scorecards"),
    path("console/qa/rates/", qa_rates, name="console_qa_rates"),
    path("console/qa/rework/", rework, name="console_rework"),
    path("console/qa/rework/<int:task_id>/done/", rework_done, name="console_rework_done"),
]


# ---------------------------------------------------------------------------------------------- ticket page


def _reasons(payload: dict[str, Any]) -> str:
    labels = dict(SampleReason.choices)
    return ", ".join(str(labels.get(r, r)) for r in payload.get("reasons", []))


def describe_event(type_: str, payload: dict[str, Any]) -> str | None:
    """The timeline's sentence for one of this area's events; None for any other event."""
    if type_ == "qa_sampled":
        return _("Sampled for quality review (%(reasons)s).") % {"reasons": _reasons(payload)}
    if type_ == "qa_reviewed":
        verdict = _("passed") if payload.get("passed") else _("failed")
        if payload.get("calibration"):
            return _("Calibration review submitted: %(total)s %% (%(verdict)s).") % {
                "total": payload.get("total", "—"), "verdict": verdict}
        return _("Quality review submitted: %(total)s %% (%(verdict)s).") % {
            "total": payload.get("total", "—"), "verdict": verdict}
    if type_ == "qa_failed":
        return _("The ticket failed its quality review; it is handled again.")
    if type_ == "qa_rework_opened":
        return _("Rework task opened for the agent.")
    if type_ == "qa_rework_done":
        return _("Rework done: %(note)s") % {"note": payload.get("note", "")}
    return None


def ticket_panel(request: Any, ticket: Any) -> dict[str, Any]:
    """Context for this area's card on the ticket page (templates/web/console/quality/_ticket_panel.html)."""
    user = request.user
    return {"qa_reviews": selectors.reviews_for_ticket(user, ticket),
            "qa_can_review": services.is_reviewer(user) and ticket.owner_id != user.pk,
            "qa_rework": selectors.open_rework_for_ticket(user, ticket),
            "qa_rework_url": reverse("web:console_rework")}
