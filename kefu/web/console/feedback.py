"""The console's feedback pages: follow-up tasks of bad scores (supervisors, administrators), survey results
with CSAT and NPS (supervisors, administrators, QA), the survey's questions (administrators); the ticket
page's survey card and the timeline's sentences for survey and follow-up events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kefu.core.clock import now
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.feedback import selectors, services
from kefu.feedback.models import FollowUpTask, SurveyQuestion
from kefu.web.console.views import StaffRequest, staff_required

RESULTS_LIMIT = 200
SCORE_ORDER = ["attitude", "speed", "solution", "overall"]


def _require(allowed: bool) -> None:
    if not allowed:
        raise DjangoPermissionDenied(_("Your role cannot open this page."))


# ---------------------------------------------------------------------------------------------- follow-up


@require_GET
@staff_required
def followup_list(request: StaffRequest) -> HttpResponse:
    _require(selectors.follows_up(request.user))
    show_closed = request.GET.get("closed") == "1"
    tasks = list(selectors.followups(request.user, include_closed=show_closed)[:500])
    return render(request, "web/console/feedback/followups.html", {
        "tasks": tasks, "show_closed": show_closed, "overdue": sum(1 for t in tasks if t.is_overdue)})


@require_http_methods(["GET", "POST"])
@staff_required
def followup_detail(request: StaffRequest, task_id: int) -> HttpResponse:
    _require(selectors.follows_up(request.user))
    try:
        task = selectors.get_followup_for(request.user, task_id)
    except NotFound:
        raise Http404 from None
    if request.method == "POST":
        note, action = request.POST.get("note", ""), request.POST.get("action", "")
        try:
            if action == "contact":
                services.record_contact(task, note=note, actor=request.user)
                done = _("The first contact is recorded.")
            elif action == "callback":
                services.record_callback(task, note=note, actor=request.user)
                done = _("The callback is recorded.")
            elif action == "close":
                services.close_followup(
                    task, apology=request.POST.get("apology") == "on", remedy=request.POST.get("remedy", ""),
                    compensation=request.POST.get("compensation", ""), root_cause=request.POST.get("root_cause", ""),
                    note=note, actor=request.user)
                done = _("The follow-up is closed.")
            else:
                raise DomainError(_("Unknown action."))
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect("web:console_followup", task_id=task.pk)
    feedback = selectors.ticket_feedback(task.ticket)
    return render(request, "web/console/feedback/followup.html", {
        "task": task, "answers": feedback.answers, "closed": task.state == FollowUpTask.State.CLOSED})


# ---------------------------------------------------------------------------------------------- results


def _days(request: StaffRequest) -> int:
    value = request.GET.get("days", "")
    return min(max(int(value), 1), 366) if value.isdigit() else 30


@require_GET
@staff_required
def survey_results(request: StaffRequest) -> HttpResponse:
    _require(selectors.reads_results(request.user))
    days = _days(request)
    end = now() + dt.timedelta(seconds=1)  # answers of this very second count too
    period = (end - dt.timedelta(days=days), end)
    by = request.GET.get("by", "team")
    by = by if by in selectors.GROUPS else "team"
    totals = selectors.csat_summary(period)[0]
    keys = [q.key for q in selectors.active_questions() if q.kind == SurveyQuestion.Kind.SCORE]
    return render(request, "web/console/feedback/results.html", {
        "days": days, "by": by, "groups": selectors.csat_summary(period, by=by),
        "totals": totals, "score_keys": keys, "nps": selectors.nps(period),
        "responses": list(selectors.responses(request.user, period)[:RESULTS_LIMIT]),
        "members": list(selectors.panel_members(request.user)[:RESULTS_LIMIT]),
        "group_choices": [("team", _("Team")), ("owner", _("Owner")), ("channel", _("Channel"))]})


# ---------------------------------------------------------------------------------------------- questions


def _question_fields(request: StaffRequest) -> dict[str, Any]:
    position = request.POST.get("position", "")
    return {"key": request.POST.get("key", ""), "kind": request.POST.get("kind", ""),
            "text_en": request.POST.get("text_en", ""), "text_zh": request.POST.get("text_zh", ""),
            "required": request.POST.get("required") == "on", "active": request.POST.get("active") == "on",
            "position": int(position) if position.isdigit() else 0}


@require_http_methods(["GET", "POST"])
@staff_required
def survey_questions(request: StaffRequest) -> HttpResponse:
    questions = selectors.all_questions(request.user)
    _require(request.user.role == "admin")
    if request.method == "POST":
        question_id = request.POST.get("question", "")
        try:
            question = selectors.get_question_for(request.user, int(question_id)) if question_id.isdigit() else None
            if request.POST.get("action") == "remove" and question is not None:
                deleted = services.remove_question(question, actor=request.user)
                done = _("The question is deleted.") if deleted else _(
                    "The question has answers, so it is retired instead of deleted.")
            else:
                services.save_question(question, **_question_fields(request), actor=request.user)
                done = _("The question is saved.")
        except NotFound:
            raise Http404 from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect("web:console_survey_questions")
    return render(request, "web/console/feedback/questions.html", {
        "questions": list(questions), "kinds": SurveyQuestion.Kind.choices})


urlpatterns: list[URLPattern] = [
    path("console/follow-ups/", followup_list, name="console_followups"),
    path("console/follow-ups/<int:task_id>/", followup_detail, name="console_followup"),
    path("console/surveys/", survey_results, name="console_survey_results"),
    path("console/surveys/questions/", survey_questions, name="console_survey_questions"),
]


# ---------------------------------------------------------------------------------------------- ticket page


def _stage(payload: dict[str, Any]) -> str:
    return _("first contact") if payload.get("stage") == "contact" else _("one-to-one callback")


def describe_event(type_: str, payload: dict[str, Any]) -> str | None:
    """The timeline's sentence for one of this area's events; None for any other event."""
    if type_ == "survey_sent":
        return _("Satisfaction survey sent (late)") if payload.get("late") else _("Satisfaction survey sent")
    if type_ == "survey_skipped":
        return _("No satisfaction survey: the customer was surveyed recently") \
            if payload.get("reason") == "recent" else _("No satisfaction survey: no way to reach the customer")
    if type_ == "survey_reminded":
        return _("Survey reminder sent")
    if type_ == "survey_expired":
        return _("The survey expired unanswered")
    if type_ == "survey_answered":
        given = payload.get("scores") or {}
        # PostgreSQL's jsonb does not keep the keys' order: the default questions first, in survey order.
        keys = sorted(given, key=lambda key: (SCORE_ORDER.index(key) if key in SCORE_ORDER else len(SCORE_ORDER), key))
        scores = ", ".join(f"{key} {given[key]}" for key in keys)
        text = _("Survey answered: %(scores)s") % {"scores": scores or "—"}
        if payload.get("nps") is not None:
            text += " · " + _("recommendation %(nps)s/10") % {"nps": payload["nps"]}
        return text + (" · " + _("bad score") if payload.get("bad") else "")
    if type_ == "followup_opened":
        return _("Follow-up of the bad score opened for %(name)s") % {"name": payload.get("assignee") or "—"}
    if type_ == "followup_contacted":
        return _("Follow-up: the customer was contacted") + (" " + _("(late)") if payload.get("late") else "")
    if type_ == "followup_callback":
        return _("Follow-up: one-to-one callback made") + (" " + _("(late)") if payload.get("late") else "")
    if type_ == "followup_closed":
        return _("Follow-up closed; root cause: %(cause)s") % {"cause": payload.get("root_cause", "")}
    if type_ == "followup_overdue":
        return _("Follow-up overdue: %(stage)s") % {"stage": _stage(payload)}
    return None


def ticket_panel(request: Any, ticket: Any) -> dict[str, Any]:
    """Context for this area's card on the ticket page (templates/web/console/feedback/_ticket_panel.html)."""
    feedback = selectors.ticket_feedback(ticket)
    return {"feedback_survey": feedback.survey, "feedback_answers": feedback.answers,
            "feedback_followup": feedback.followup,
            "feedback_can_follow_up": selectors.follows_up(request.user)}
