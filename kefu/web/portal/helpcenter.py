"""The public help center: the published articles by category, search as you type, an article, and
"was this helpful?". Open to anonymous readers; internal articles exist only for staff (the knowledge
selectors decide)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.core.errors import NotFound
from kefu.core.ratelimit import RateLimit, client_ip
from kefu.knowledge import selectors, services
from kefu.knowledge.models import ArticleVersion

FEEDBACK_PER_IP = RateLimit("help_feedback_ip", limit=30, window=3600)
SEARCH_RESULTS = 10
MAX_QUERY = 200


@login_not_required
@require_GET
def help_center(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    context = {"query": query, "results": selectors.search_articles(request.user, query, limit=SEARCH_RESULTS)
               if query else None, "shelves": selectors.help_center(request.user)}
    # Type-ahead asks for the results only (htmx sends HX-Request); a normal request gets the page.
    template = "web/portal/_help_results.html" if request.headers.get("HX-Request") else "web/portal/help.html"
    return render(request, template, context)


def _version(request: HttpRequest, key: str, language: str) -> ArticleVersion:
    try:
        return selectors.get_article_for(request.user, key, locale=language or None)
    except NotFound:
        raise Http404 from None


@login_not_required
@require_GET
def help_article(request: HttpRequest, key: str) -> HttpResponse:
    version = _version(request, key, request.GET.get("lang", ""))
    return render(request, "web/portal/help_article.html", {
        "version": version, "article": version.article, "languages": selectors.other_languages(version),
        "internal": not version.article.is_public})


@login_not_required
@require_POST
def help_feedback(request: HttpRequest, key: str) -> HttpResponse:
    version = _version(request, key, request.POST.get("lang", ""))
    if not FEEDBACK_PER_IP.hit(client_ip(request)):
        messages.error(request, _("Too many answers from your network; please try again later."))
        return redirect("web:help_article", key=key)
    services.record_feedback(version, helpful=request.POST.get("helpful") == "yes",
                             comment=request.POST.get("comment", ""))
    messages.success(request, _("Thank you for your feedback."))
    return redirect(f"{request.path.removesuffix('feedback/')}?lang={version.locale}")
