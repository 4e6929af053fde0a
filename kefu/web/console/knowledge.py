"""The console's knowledge-base pages: the list, an article's editor per language (draft, publish,
history, readers' feedback), new articles. Agents write drafts; supervisors and administrators publish."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.bot import selectors as bot_selectors
from kefu.bot.models import Conversation
from kefu.core.errors import DomainError, NotFound, PermissionDenied
from kefu.knowledge import selectors, services
from kefu.knowledge.models import Article, KnowledgeCategory, Locale
from kefu.web.console.views import StaffRequest, staff_required


def _article(request: StaffRequest, key: str) -> Article:
    try:
        return selectors.get_editable_article(request.user, key)
    except NotFound:
        raise Http404 from None


def _locale(value: str | None) -> str:
    return value if value in Locale.values else selectors.reader_locale()


def _category(value: str) -> KnowledgeCategory | None:
    return KnowledgeCategory.objects.filter(pk=int(value)).first() if value.isdigit() else None


def _draft(request: StaffRequest) -> dict[str, Any]:
    """The draft's fields as the editor posts them; example questions one per line."""
    return {"title": request.POST.get("title", ""), "body": request.POST.get("body", ""),
            "questions": [line for line in request.POST.get("questions", "").splitlines() if line.strip()]}


@require_GET
@staff_required
def article_list(request: StaffRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    return render(request, "web/console/knowledge_list.html", {
        "query": query, "articles": list(selectors.editable_articles(request.user, query)[:500]),
        "results": selectors.search_articles(request.user, query, limit=10) if query else None})


@require_http_methods(["GET", "POST"])
@staff_required
def article_new(request: StaffRequest) -> HttpResponse:
    if not request.user.can_write_tickets:
        raise DjangoPermissionDenied(_("Only agents, supervisors and administrators edit the knowledge base."))
    context = {"categories": KnowledgeCategory.objects.all(), "kinds": Article.Kind.choices,
               "visibilities": Article.Visibility.choices, "locales": Locale.choices, "data": request.POST}
    if request.method == "POST":
        try:
            locale = _locale(request.POST.get("locale"))
            article = services.create_article_with_draft(
                key=request.POST.get("key", ""), kind=request.POST.get("kind", Article.Kind.FAQ),
                visibility=request.POST.get("visibility", Article.Visibility.PUBLIC),
                category=_category(request.POST.get("category", "")),
                needs_order=request.POST.get("needs_order") == "on", locale=locale, **_draft(request),
                actor=request.user)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
            return render(request, "web/console/knowledge_new.html", context, status=400)
        messages.success(request, _("Draft saved."))
        return redirect(f"/console/knowledge/{article.key}/?locale={locale}")
    return render(request, "web/console/knowledge_new.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def article_edit(request: StaffRequest, key: str) -> HttpResponse:
    article = _article(request, key)
    locale = _locale(request.POST.get("locale") or request.GET.get("locale"))
    if request.method == "POST":
        try:
            if request.POST.get("action") == "settings":
                services.update_article(
                    article, kind=request.POST.get("kind", ""), visibility=request.POST.get("visibility", ""),
                    category=_category(request.POST.get("category", "")),
                    needs_order=request.POST.get("needs_order") == "on", actor=request.user)
                done = _("The article's settings are saved.")
            else:
                services.save_draft(article, locale=locale, **_draft(request), actor=request.user)
                done = _("Draft saved.")
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect(f"{request.path}?locale={locale}")
    versions = selectors.history(article, locale)
    current = next((v for v in versions if v.state == "draft"), None) or next(
        (v for v in versions if v.state == "published"), None)
    return render(request, "web/console/knowledge_edit.html", {
        "article": article, "locale": locale, "locales": Locale.choices, "versions": versions, "current": current,
        "questions": "\n".join(current.questions) if current else "", "feedback": selectors.feedback_summary(article),
        "can_publish": request.user.role in services.PUBLISHERS, "categories": KnowledgeCategory.objects.all(),
        "kinds": Article.Kind.choices, "visibilities": Article.Visibility.choices})


@require_POST
@staff_required
def article_publish(request: StaffRequest, key: str) -> HttpResponse:
    article = _article(request, key)
    locale = _locale(request.POST.get("locale"))
    try:
        if request.POST.get("action") == "archive":
            services.archive_article(article, actor=request.user)
            messages.success(request, _("The article was withdrawn."))
        else:
            version = services.publish(article, locale=locale, actor=request.user)
            messages.success(request, _("Version %(number)s is published.") % {"number": version.number})
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"/console/knowledge/{article.key}/?locale={locale}")


@require_GET
@staff_required
def knowledge_gaps(request: StaffRequest) -> HttpResponse:
    """What the chatbot could not answer, grouped, and how its conversations ended."""
    days = int(request.GET["days"]) if request.GET.get("days", "").isdigit() else 30
    days = min(max(days, 1), 365)
    outcomes = bot_selectors.outcomes(request.user, days=days)
    reasons = [(Conversation.HandoffReason(code).label if code in Conversation.HandoffReason.values else code, n)
               for code, n in sorted(outcomes.reasons.items(), key=lambda pair: -pair[1])]
    return render(request, "web/console/knowledge_gaps.html", {
        "days": days, "gaps": bot_selectors.knowledge_gaps(request.user, days=days)[:100],
        "outcomes": outcomes, "reasons": reasons})
