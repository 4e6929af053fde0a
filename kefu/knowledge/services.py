"""Every write to the knowledge base: drafts, publication, archiving, readers' feedback, imports."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

from kefu.accounts.models import Role, User
from kefu.core.audit import record_audit
from kefu.core.clock import now
from kefu.core.errors import DomainError, PermissionDenied
from kefu.knowledge.models import Article, ArticleFeedback, ArticleVersion, KnowledgeCategory, Locale

MAX_QUESTIONS = 50
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {"p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
         "blockquote", "a", "hr", "table", "thead", "tbody", "tr", "th", "td", "img"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"},
               "th": {"style"}, "td": {"style"}}
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
PUBLISHERS = {Role.SUPERVISOR, Role.ADMIN}


def render_markdown(text: str) -> str:
    """Markdown to HTML, then the allow-list sanitiser (raw HTML in the source is shown as text)."""
    return nh3.clean(_MARKDOWN.render(text), tags=_TAGS, attributes=_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def _require_editor(actor: User) -> None:
    if not actor.can_write_tickets:
        raise PermissionDenied(_("Only agents, supervisors and administrators edit the knowledge base."))


def _require_publisher(actor: User) -> None:
    if not (actor.is_active and actor.role in PUBLISHERS):
        raise PermissionDenied(_("Only supervisors and administrators publish articles."))


def _clean_questions(questions: Sequence[str]) -> list[str]:
    cleaned = [" ".join(q.split())[:300] for q in questions]
    return list(dict.fromkeys(q for q in cleaned if q))[:MAX_QUESTIONS]


@transaction.atomic
def create_article(*, key: str, kind: str = Article.Kind.FAQ, visibility: str = Article.Visibility.PUBLIC,
                   category: KnowledgeCategory | None = None, needs_order: bool = False,
                   actor: User | None) -> Article:
    if actor is not None:
        _require_editor(actor)
    key = key.strip().lower()
    if not _KEY.match(key):
        raise DomainError(_("The key may contain lower-case letters, digits and hyphens (2–80)."), code="invalid_key")
    if Article.objects.filter(key=key).exists():
        raise DomainError(_("An article with the key %(key)s exists already.") % {"key": key}, code="duplicate_key")
    article = Article.objects.create(key=key, kind=kind, visibility=visibility, category=category,
                                     needs_order=needs_order, created_by=actor)
    record_audit("knowledge.article_created", article, actor=actor, changes={"key": key, "visibility": visibility})
    return article


@transaction.atomic
def create_article_with_draft(*, key: str, kind: str, visibility: str, category: KnowledgeCategory | None,
                              needs_order: bool, locale: str, title: str, body: str, questions: Sequence[str],
                              actor: User) -> Article:
    """A new article and its first draft, together or not at all (a refused draft leaves no empty article)."""
    article = create_article(key=key, kind=kind, visibility=visibility, category=category, needs_order=needs_order,
                             actor=actor)
    save_draft(article, locale=locale, title=title, body=body, questions=questions, actor=actor)
    return article


@transaction.atomic
def update_article(article: Article, *, actor: User, **fields: Any) -> Article:
    """Kind, visibility, category and the chatbot's order-number question; a published article's change of
    visibility takes effect at once (it moves the knowledge base's revision)."""
    _require_editor(actor)
    allowed = {"kind", "visibility", "category", "needs_order"}
    if fields.get("kind", Article.Kind.FAQ) not in Article.Kind.values or \
            fields.get("visibility", Article.Visibility.PUBLIC) not in Article.Visibility.values:
        raise DomainError(_("Choose a kind and a visibility from the lists."), code="invalid_choice")
    changes = {}
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"update_article cannot change {name}")
        if getattr(article, name) != value:
            changes[name] = str(value)
            setattr(article, name, value)
    if changes:
        if "visibility" in changes and article.published_at is not None:
            _require_publisher(actor)
            article.published_at = now()
        article.save()
        record_audit("knowledge.article_updated", article, actor=actor, changes=changes)
    return article


@transaction.atomic
def save_draft(article: Article, *, locale: str, title: str, body: str, questions: Sequence[str] = (),
               actor: User | None) -> ArticleVersion:
    """The language's draft, created or updated in place (one draft per language at a time)."""
    if actor is not None:
        _require_editor(actor)
    if locale not in Locale.values:
        raise DomainError(_("Unknown language."), code="invalid_locale")
    title, body = " ".join(title.split())[:200], body.strip()
    if not title or not body:
        raise DomainError(_("An article needs a title and a text."), code="incomplete")
    locked = Article.objects.select_for_update().get(pk=article.pk)
    draft = locked.versions.filter(locale=locale, state=ArticleVersion.State.DRAFT).first()
    if draft is None:
        latest = locked.versions.filter(locale=locale).aggregate(n=Max("number"))["n"] or 0
        draft = ArticleVersion(article=locked, locale=locale, number=latest + 1)
    draft.title, draft.body, draft.body_html = title, body, render_markdown(body)
    draft.questions, draft.author, draft.created_at = _clean_questions(questions), actor, now()
    draft.save()
    record_audit("knowledge.draft_saved", locked, actor=actor, changes={"locale": locale, "version": draft.number})
    return draft


@transaction.atomic
def publish(article: Article, *, locale: str, actor: User | None) -> ArticleVersion:
    """The language's draft becomes the published version; the one it replaces stays as history."""
    if actor is not None:
        _require_publisher(actor)
    locked = Article.objects.select_for_update().get(pk=article.pk)
    draft = locked.versions.filter(locale=locale, state=ArticleVersion.State.DRAFT).first()
    if draft is None:
        raise DomainError(_("There is no draft to publish in this language."), code="no_draft")
    moment = now()
    locked.versions.filter(locale=locale, state=ArticleVersion.State.PUBLISHED).update(
        state=ArticleVersion.State.RETIRED)
    draft.state, draft.published_at = ArticleVersion.State.PUBLISHED, moment
    draft.save(update_fields=["state", "published_at"])
    locked.published_at, locked.archived = moment, False
    locked.save(update_fields=["published_at", "archived"])
    record_audit("knowledge.published", locked, actor=actor, changes={"locale": locale, "version": draft.number})
    return draft


@transaction.atomic
def archive_article(article: Article, *, actor: User) -> Article:
    """Withdrawn from the help center, the chatbot and suggestions; its versions stay."""
    _require_publisher(actor)
    article.archived, article.published_at = True, now()
    article.save(update_fields=["archived", "published_at"])
    record_audit("knowledge.archived", article, actor=actor)
    return article


def record_feedback(version: ArticleVersion, *, helpful: bool, comment: str = "") -> ArticleFeedback:
    return ArticleFeedback.objects.create(article_id=version.article_id, locale=version.locale,
                                          version=version.number, helpful=helpful, comment=comment.strip()[:500])


@transaction.atomic
def import_knowledge(data: dict[str, Any], *, actor: User | None) -> int:
    """Categories and articles from the knowledge-base JSON format (see kefu/knowledge/demo_kb.json), each
    language published; articles whose key exists are left as they are. Returns how many were added."""
    categories = {}
    for position, entry in enumerate(data.get("categories", [])):
        categories[entry["key"]], _created = KnowledgeCategory.objects.get_or_create(key=entry["key"], defaults={
            "name_zh": entry["name"]["zh-hans"], "name_en": entry["name"]["en"], "position": position})
    existing = set(Article.objects.values_list("key", flat=True))
    added = 0
    for entry in data.get("articles", []):
        if entry["key"] in existing:
            continue
        article = create_article(key=entry["key"], kind=entry.get("kind", Article.Kind.FAQ),
                                 visibility=entry.get("visibility", Article.Visibility.PUBLIC),
                                 category=categories.get(entry.get("category", "")),
                                 needs_order=bool(entry.get("needs_order")), actor=actor)
        for locale, text in entry["translations"].items():
            save_draft(article, locale=locale, title=text["title"], body=text["body"],
                       questions=text.get("questions", []), actor=actor)
            publish(article, locale=locale, actor=actor)
        added += 1
    return added
