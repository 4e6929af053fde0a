"""Every read of the knowledge base for a user. Internal articles are for staff only: search, the help
center, the chatbot and the agent's suggestions all read through ``readable`` below.

Search runs on an in-memory index of the published versions (``kefu.knowledge.retrieval``), rebuilt in
each process when the knowledge base's revision (the newest publication, and the number of published
versions) moves: one small aggregate query per search keeps every process current without a cache server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kefu.core.errors import NotFound
from kefu.knowledge import retrieval
from kefu.knowledge.models import Article, ArticleFeedback, ArticleVersion, KnowledgeCategory, Locale


def reader_is_staff(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.is_staff_member)


def readable(actor: Any) -> QuerySet[ArticleVersion]:
    """The published versions this reader may see."""
    versions = ArticleVersion.objects.filter(state=ArticleVersion.State.PUBLISHED, article__archived=False)
    if not reader_is_staff(actor):
        versions = versions.filter(article__visibility=Article.Visibility.PUBLIC)
    return versions


def reader_locale(language: str | None = None) -> str:
    return Locale.ZH_HANS if (language or get_language() or "zh-hans").startswith("zh") else Locale.EN


# ---------------------------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class Entry:
    """What the index knows of a published version besides its text."""

    version_id: int
    article_id: int
    key: str
    locale: str
    title: str
    kind: str
    public: bool
    needs_order: bool
    category_id: int | None
    questions: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Catalog:
    revision: tuple[Any, ...]
    index: retrieval.SearchIndex
    entries: dict[int, Entry]  # by version id

    def keys_for(self, *, staff: bool) -> set[int]:
        return {vid for vid, entry in self.entries.items() if staff or entry.public}


_lock = threading.Lock()
_catalog: Catalog | None = None


def revision() -> tuple[Any, ...]:
    published = ArticleVersion.objects.filter(state=ArticleVersion.State.PUBLISHED).aggregate(
        count=Count("id"), newest=Max("published_at"))
    articles = Article.objects.aggregate(changed=Max("published_at"))
    return published["count"], published["newest"], articles["changed"]


def catalog() -> Catalog:
    """The index of every published, unarchived version (both visibilities: readers are filtered per search)."""
    global _catalog
    current = revision()
    cached = _catalog
    if cached is not None and cached.revision == current:
        return cached
    with _lock:
        if _catalog is not None and _catalog.revision == current:
            return _catalog
        rows = (ArticleVersion.objects.filter(state=ArticleVersion.State.PUBLISHED, article__archived=False)
                .select_related("article").order_by("id"))
        entries = {v.pk: Entry(v.pk, v.article_id, v.article.key, v.locale, v.title, v.article.kind,
                               v.article.is_public, v.article.needs_order, v.article.category_id,
                               tuple(v.questions), retrieval.plain_text(v.body)) for v in rows}
        index = retrieval.SearchIndex(retrieval.Document(vid, e.locale, e.title, e.text, e.questions)
                                      for vid, e in entries.items())
        _catalog = Catalog(current, index, entries)
        return _catalog


# ---------------------------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchResult:
    entry: Entry
    score: float
    title: retrieval.Segments
    snippet: retrieval.Segments


def search_articles(actor: Any, query: str, *, locale: str | None = None, limit: int = 10,
                    include_other_language: bool = True) -> list[SearchResult]:
    """Published articles matching the query that this reader may see, the reader's language first."""
    current = catalog()
    allowed = current.keys_for(staff=reader_is_staff(actor))
    locale = locale or reader_locale()
    hits = current.index.search(query, limit=limit, locales={locale}, allowed=allowed)
    if len(hits) < limit and include_other_language:
        others = [loc for loc in Locale.values if loc != locale]
        seen = {current.entries[h.key].article_id for h in hits}
        more = current.index.search(query, limit=limit, locales=set(others), allowed=allowed)
        hits += [h for h in more if current.entries[h.key].article_id not in seen][: limit - len(hits)]
    return [SearchResult(current.entries[h.key], h.score, h.title, h.snippet) for h in hits]


# ---------------------------------------------------------------------------------------------- pages


def get_article_for(actor: Any, key: str, *, locale: str | None = None) -> ArticleVersion:
    """The published version of an article in the reader's language (the other one when it has only that).
    Missing, archived and internal-for-a-customer all read as "not found"."""
    locale = locale or reader_locale()
    versions = list(readable(actor).filter(article__key=key).select_related("article", "article__category"))
    if not versions:
        raise NotFound(_("Article not found."))
    versions.sort(key=lambda v: v.locale != locale)
    return versions[0]


def other_languages(version: ArticleVersion) -> list[str]:
    return list(ArticleVersion.objects.filter(article_id=version.article_id, state=ArticleVersion.State.PUBLISHED)
                .exclude(locale=version.locale).values_list("locale", flat=True))


@dataclass(frozen=True)
class Shelf:
    category: KnowledgeCategory | None
    versions: list[ArticleVersion]


def help_center(actor: Any, *, locale: str | None = None) -> list[Shelf]:
    """The published articles by category, one version per article (the reader's language first)."""
    locale = locale or reader_locale()
    chosen: dict[int, ArticleVersion] = {}
    for version in readable(actor).select_related("article", "article__category").order_by("article__key"):
        current = chosen.get(version.article_id)
        if current is None or (current.locale != locale and version.locale == locale):
            chosen[version.article_id] = version
    shelves: dict[int | None, list[ArticleVersion]] = {}
    for version in chosen.values():
        shelves.setdefault(version.article.category_id, []).append(version)
    categories = {c.pk: c for c in KnowledgeCategory.objects.filter(pk__in=[k for k in shelves if k])}
    ordered = sorted(shelves, key=lambda k: (k is None, categories[k].position if k else 0, k or 0))
    return [Shelf(categories.get(k) if k else None, sorted(shelves[k], key=lambda v: v.title)) for k in ordered]


def editable_articles(actor: Any, query: str = "") -> QuerySet[Article]:
    """The console's list: every article with its versions' states, for staff."""
    if not reader_is_staff(actor):
        return Article.objects.none()
    articles = Article.objects.select_related("category").annotate(
        drafts=Count("versions", filter=Q(versions__state=ArticleVersion.State.DRAFT)),
        published=Count("versions", filter=Q(versions__state=ArticleVersion.State.PUBLISHED)),
        helpful=Count("feedback", filter=Q(feedback__helpful=True), distinct=True),
        unhelpful=Count("feedback", filter=Q(feedback__helpful=False), distinct=True),
    )
    if query.strip():
        articles = articles.filter(Q(key__icontains=query.strip()) | Q(versions__title__icontains=query.strip()))
    return articles.distinct().order_by("archived", "key")


def get_editable_article(actor: Any, key: str) -> Article:
    article = editable_articles(actor).filter(key=key).first()
    if article is None:
        raise NotFound(_("Article not found."))
    return article


def history(article: Article, locale: str) -> list[ArticleVersion]:
    return list(article.versions.filter(locale=locale).select_related("author").order_by("-number"))


@dataclass(frozen=True)
class FeedbackSummary:
    helpful: int
    unhelpful: int
    comments: list[ArticleFeedback]

    @property
    def share_helpful(self) -> float | None:
        total = self.helpful + self.unhelpful
        return self.helpful / total if total else None


def feedback_summary(article: Article) -> FeedbackSummary:
    counts = article.feedback.aggregate(yes=Count("id", filter=Q(helpful=True)),
                                        no=Count("id", filter=Q(helpful=False)))
    comments = list(article.feedback.exclude(comment="").order_by("-created_at")[:20])
    return FeedbackSummary(counts["yes"], counts["no"], comments)
