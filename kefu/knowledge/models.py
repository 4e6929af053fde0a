"""The knowledge base: articles in zh-Hans and English, each language with its own versions (drafts,
the published one, the history), FAQ example questions, and readers' "was this helpful?" answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.clock import now


class Locale(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class KnowledgeCategory(models.Model):
    key = models.SlugField(_("key"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("knowledge category")
        verbose_name_plural = _("knowledge categories")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.label()

    def label(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (language or get_language() or "zh-hans").startswith("zh") else self.name_en


class Article(models.Model):
    class Kind(models.TextChoices):
        FAQ = "faq", _("FAQ")
        ARTICLE = "article", _("Article")
        TROUBLESHOOTING = "troubleshooting", _("Troubleshooting guide")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public (help center and chatbot)")
        INTERNAL = "internal", _("Internal (agents only)")

    key = models.SlugField(_("key"), max_length=80, unique=True)
    category = models.ForeignKey(KnowledgeCategory, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="articles", verbose_name=_("category"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.FAQ)
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility.choices,
                                  default=Visibility.PUBLIC)
    needs_order = models.BooleanField(_("the chatbot asks for the order number"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=now)
    # Moves on every publication: the search index and the chatbot rebuild when the newest one changes.
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.key

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class ArticleVersion(models.Model):
    """One language's text of an article at one moment. Per language there is at most one draft and one
    published version; publishing a draft retires the version it replaces, which stays as history."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Earlier version")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    locale = models.CharField(_("language"), max_length=8, choices=Locale.choices)
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text (Markdown)"))
    body_html = models.TextField(editable=False)  # rendered and sanitised when saved
    questions = models.JSONField(_("example questions"), default=list, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        constraints = [
            models.UniqueConstraint(fields=["article", "locale", "number"], name="article_version_number"),
            models.UniqueConstraint(fields=["article", "locale"], condition=Q(state="published"),
                                    name="article_one_published_per_locale"),
            models.UniqueConstraint(fields=["article", "locale"], condition=Q(state="draft"),
                                    name="article_one_draft_per_locale"),
        ]
        indexes = [models.Index(fields=["state", "locale"], name="article_version_state")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.locale} v{self.number}"


class ArticleFeedback(models.Model):
    """A reader's answer to "was this helpful?" (the analytics and the editors read it)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    locale = models.CharField(max_length=8, choices=Locale.choices)
    version = models.PositiveIntegerField()
    helpful = models.BooleanField()
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        indexes = [models.Index(fields=["article", "created_at"], name="article_feedback_article")]

    def __str__(self) -> str:
        return f"{self.article_id} {'+' if self.helpful else '-'}"
