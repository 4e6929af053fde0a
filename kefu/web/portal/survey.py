"""The customer's satisfaction survey, opened from the signed single-use link sent after closure. No sign-in:
the link's secret is the key. Shown in the survey's language (the customer's), built for a phone first.

GET never changes anything (mail scanners follow links); answers are recorded once, by POST.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.errors import DomainError, NotFound
from kefu.core.ratelimit import RateLimit, client_ip
from kefu.feedback import selectors, services
from kefu.feedback.models import Survey, SurveyQuestion

SURVEY_HITS_PER_IP = RateLimit("survey_ip", limit=120, window=3600)
LANGUAGES = {"en": "English", "zh-hans": "简体中文"}


def _survey(request: HttpRequest, token: str) -> Survey:
    if not SURVEY_HITS_PER_IP.hit(client_ip(request)):
        raise _TooMany
    try:
        return services.find_survey(token)
    except NotFound:
        raise Http404 from None


class _TooMany(Exception):
    pass


def _language(request: HttpRequest, survey: Survey) -> str:
    wanted = request.GET.get("lang") or request.POST.get("lang") or ""
    return wanted if wanted in LANGUAGES else survey.language


def _page(request: HttpRequest, survey: Survey, language: str, *, status: int = 200,
          error: str = "") -> HttpResponse:
    questions = selectors.active_questions()
    member = selectors.is_panel_member(survey)
    state = "open" if survey.is_open else survey.state if survey.state == Survey.State.ANSWERED else "expired"
    with translation.override(language):
        response = render(request, "web/portal/survey/survey.html", {
            "survey": survey, "state": state, "language": language, "error": error,
            "languages": [(code, name) for code, name in LANGUAGES.items() if code != language],
            "questions": [(q, q.text(language), request.POST.get(q.key, "") if request.method == "POST" else "")
                          for q in questions],
            "score_kind": SurveyQuestion.Kind.SCORE, "nps_kind": SurveyQuestion.Kind.NPS,
            "invite": survey.thanked and not member, "member": member,
        }, status=status)
        response.headers["Content-Language"] = language
    # Never cached by a proxy; the link is a bearer secret and is not sent on to other sites.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _too_many(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_("Too many requests from your network; please try again later."), status=429,
                        content_type="text/plain; charset=utf-8")


@login_not_required
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = _survey(request, token)
    except _TooMany:
        return _too_many(request)
    language = _language(request, found)
    if request.method != "POST":
        return _page(request, found, language, status=200 if found.is_open or found.state == "answered" else 410)
    try:
        with translation.override(language):
            services.submit_survey(token, request.POST)
    except DomainError as exc:
        if exc.code in {"already_answered", "expired"}:
            return redirect(request.path)
        return _page(request, found, language, status=400, error=exc.message)
    with translation.override(language):
        messages.success(request, _("Thank you! Your answers are recorded."))
    return redirect(request.path + (f"?lang={language}" if language != found.language else ""))


@login_not_required
@require_POST
def survey_panel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = _survey(request, token)
    except _TooMany:
        return _too_many(request)
    language = _language(request, found)
    with translation.override(language):
        try:
            services.join_panel(token)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Welcome to our service experience panel! We will invite you to try "
                                        "new services before anybody else."))
    return redirect(reverse("web:survey", args=[token]) + (f"?lang={language}" if language != found.language else ""))


urlpatterns: list[URLPattern] = [
    path("s/<str:token>/", survey, name="survey"),
    path("s/<str:token>/panel/", survey_panel, name="survey_panel"),
]
