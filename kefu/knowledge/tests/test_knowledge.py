"""Articles as editors and readers meet them: versions, publication, visibility, the help center."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import Role
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.models import AuditEntry
from kefu.knowledge import selectors, services
from kefu.knowledge.models import Article, ArticleFeedback, ArticleVersion
from kefu.testing import factories

pytestmark = pytest.mark.django_db

REFUND = {"zh-hans": ("退款多久到账", "退款审核通过后 **3 到 7 个工作日** 原路退回。"),
          "en": ("How long a refund takes", "Refunds reach you in **3-7 working days**.")}


def test_publishing_a_draft_keeps_the_earlier_version_as_history():
    editor, supervisor = factories.staff(Role.AGENT), factories.staff(Role.SUPERVISOR)
    article = factories.article("refund-time", texts=REFUND)
    draft = services.save_draft(article, locale="en", title="How long a refund takes",
                                body="Refunds now take **1-3 working days**.", actor=editor)
    assert draft.number == 2 and draft.state == ArticleVersion.State.DRAFT
    # Readers still see version 1 until the draft is published.
    assert "3-7" in selectors.get_article_for(None, "refund-time", locale="en").body_html
    with pytest.raises(PermissionDenied):
        services.publish(article, locale="en", actor=editor)  # agents write, supervisors publish
    services.publish(article, locale="en", actor=supervisor)
    assert "1-3" in selectors.get_article_for(None, "refund-time", locale="en").body_html
    assert [(v.number, v.state) for v in selectors.history(article, "en")] == [(2, "published"), (1, "retired")]
    assert AuditEntry.objects.filter(action="knowledge.published", target_id=str(article.pk)).exists()


def test_markdown_is_rendered_and_sanitised():
    article = factories.article(texts={"en": ("Title", "Hello <script>alert(1)</script> [x](javascript:alert(1)) "
                                                     "[portal](/portal/)\n\n- one\n- two")})
    html = selectors.get_article_for(None, article.key, locale="en").body_html
    assert "<script>" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # raw HTML in the source is shown as text
    assert '<a href="/portal/" rel="noopener noreferrer nofollow">portal</a>' in html
    assert "<li>one</li>" in html


def test_a_draft_needs_a_title_and_a_text_and_keys_are_checked():
    article = factories.article()
    with pytest.raises(DomainError):
        services.save_draft(article, locale="en", title=" ", body="text", actor=None)
    with pytest.raises(DomainError):
        services.create_article(key="Bad Key!", actor=None)
    with pytest.raises(DomainError):
        services.create_article(key=article.key, actor=None)


def test_internal_articles_are_for_staff_only():
    secret = factories.article("refund-approval-limits", visibility=Article.Visibility.INTERNAL,
                               texts={"en": ("Refund approval limits", "Agents approve refunds up to 200 CNY.")})
    customer, agent = factories.customer(), factories.staff(Role.AGENT)
    assert [r.entry.key for r in selectors.search_articles(agent, "refund approval")] == [secret.key]
    assert selectors.search_articles(customer.user, "refund approval") == []
    assert selectors.search_articles(None, "refund approval") == []
    client = Client()
    assert client.get(f"/help/{secret.key}/").status_code == 404
    client.force_login(customer.user)
    assert client.get(f"/help/{secret.key}/").status_code == 404
    assert client.get("/help/?q=approval").content.count(b"Refund approval") == 0


def test_the_search_index_follows_publication_and_archiving():
    supervisor = factories.staff(Role.SUPERVISOR)
    article = factories.article("earbuds", texts={"en": ("Earbuds do not pair", "Hold the button.")})
    assert [r.entry.key for r in selectors.search_articles(None, "earbuds")] == ["earbuds"]
    services.archive_article(article, actor=supervisor)
    assert selectors.search_articles(None, "earbuds") == []
    services.save_draft(article, locale="en", title="Earbuds do not pair", body="Reset them.", actor=supervisor)
    services.publish(article, locale="en", actor=supervisor)
    assert [r.entry.key for r in selectors.search_articles(None, "earbuds")] == ["earbuds"]


def test_anonymous_reader_searches_the_help_center_in_chinese_and_english():
    factories.article("refund-time", texts=REFUND, questions={"zh-hans": ["我的退款什么时候到"]})
    factories.article("address", texts={"zh-hans": ("修改收货地址", "发货前可以修改。")})
    client = Client()
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "退款多久到账" in page and "修改收货地址" in page
    english = client.get("/help/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # One entry per article: the reader's language where it exists, the other one where it does not.
    assert "How long a refund takes" in english and "退款多久到账" not in english and "修改收货地址" in english
    found = client.get("/help/", {"q": "退款什么时候到"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<mark>退款</mark>" in found and "修改收货地址" not in found
    # Type-ahead gets the results alone; an English typo still finds the English version.
    partial = client.get("/help/", {"q": "refnud"}, headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="help-results"') and "How long a <mark>refund</mark> takes" in partial
    nothing = client.get("/help/", {"q": "<b>quantum</b>"}).content.decode()
    assert "Nothing found for “&lt;b&gt;quantum&lt;/b&gt;”" in nothing


def test_reader_opens_an_article_in_their_language_and_says_it_helped():
    article = factories.article("refund-time", texts=REFUND)
    client = Client()
    page = client.get("/help/refund-time/?lang=zh-hans").content.decode()
    assert "<strong>3 到 7 个工作日</strong>" in page and "English" in page
    response = client.post("/help/refund-time/feedback/", {"helpful": "no", "lang": "en", "comment": "Too vague"})
    assert response.status_code == 302
    feedback = ArticleFeedback.objects.get()
    assert (feedback.article_id, feedback.locale, feedback.version, feedback.helpful, feedback.comment) == (
        article.pk, "en", 1, False, "Too vague")
    summary = selectors.feedback_summary(article)
    assert (summary.helpful, summary.unhelpful, summary.share_helpful) == (0, 1, 0.0)


def test_help_center_is_empty_before_anything_is_published():
    assert "No articles have been published yet." in Client().get("/help/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_help_center_and_console_list_query_counts_do_not_grow_with_articles():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = Client()
    agent.force_login(factories.staff(Role.AGENT))
    reader = Client()

    def count(client: Client, url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    factories.article("first", texts=REFUND)
    for client, url in ((agent, "/console/knowledge/"), (reader, "/help/"), (reader, "/help/?q=refund")):
        count(client, url)  # warm: the agent's activity, the search index
    one = [count(agent, "/console/knowledge/"), count(reader, "/help/"), count(reader, "/help/?q=refund")]
    for n in range(29):
        factories.article(f"more-{n}", texts=REFUND)
    count(reader, "/help/?q=refund")  # the index is rebuilt once after the publications
    assert [count(agent, "/console/knowledge/"), count(reader, "/help/"), count(reader, "/help/?q=refund")] == one
