"""The console's knowledge-base editor: an agent writes, a supervisor publishes, QA only reads."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import Role
from kefu.knowledge.models import ArticleVersion
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def _client(role: str) -> Client:
    client = Client()
    client.force_login(factories.staff(role))
    return client


def test_agent_drafts_an_article_that_a_supervisor_publishes_to_the_help_center():
    agent = _client(Role.AGENT)
    response = agent.post("/console/knowledge/new/", {
        "key": "invoice-request", "kind": "faq", "visibility": "public", "locale": "zh-hans",
        "title": "如何开发票", "body": "在订单详情页点击**申请发票**。", "questions": "怎么开发票\n发票在哪里申请\n\n"})
    assert response.status_code == 302 and response["Location"] == "/console/knowledge/invoice-request/?locale=zh-hans"
    draft = ArticleVersion.objects.get(article__key="invoice-request")
    assert (draft.state, draft.questions) == ("draft", ["怎么开发票", "发票在哪里申请"])
    assert Client().get("/help/invoice-request/").status_code == 404  # a draft is not public yet
    page = agent.get("/console/knowledge/invoice-request/?locale=zh-hans", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A supervisor publishes drafts." in page
    assert agent.post("/console/knowledge/invoice-request/publish/", {"locale": "zh-hans"}).status_code == 403

    supervisor = _client(Role.SUPERVISOR)
    supervisor.post("/console/knowledge/invoice-request/publish/", {"locale": "zh-hans", "action": "publish"})
    assert "<strong>申请发票</strong>" in Client().get("/help/invoice-request/").content.decode()
    listing = supervisor.get("/console/knowledge/?q=发票").content.decode()
    assert "invoice-request" in listing and "<mark>发票</mark>" in listing


def test_a_bad_key_is_explained_and_what_was_typed_is_kept():
    response = _client(Role.AGENT).post("/console/knowledge/new/", {
        "key": "Not a key", "locale": "en", "title": "Kept title", "body": "Kept body"}, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 400
    assert "lower-case letters, digits and hyphens" in page and "Kept title" in page and "Kept body" in page


def test_qa_reviewer_reads_the_editor_but_cannot_save():
    article = factories.article("earbuds")
    qa = _client(Role.QA)
    assert qa.get(f"/console/knowledge/{article.key}/").status_code == 200
    assert qa.post(f"/console/knowledge/{article.key}/", {"locale": "en", "title": "x", "body": "y"}).status_code == 403
    assert ArticleVersion.objects.filter(article=article).count() == 1


def test_a_refused_first_draft_leaves_no_empty_article_behind():
    agent = _client(Role.AGENT)
    form = {"key": "warranty", "locale": "en", "title": "Warranty", "body": ""}
    assert agent.post("/console/knowledge/new/", form).status_code == 400  # no text
    form["body"] = "One year."
    assert agent.post("/console/knowledge/new/", form).status_code == 302  # the key is still free
    assert ArticleVersion.objects.filter(article__key="warranty").count() == 1


def test_a_supervisor_makes_a_published_article_internal_and_it_leaves_the_help_center():
    article = factories.article("refund-limits", texts={"en": ("Refund limits", "Up to 200 CNY.")})
    settings = {"action": "settings", "kind": "article", "visibility": "internal", "category": ""}
    agent = _client(Role.AGENT)
    assert agent.post(f"/console/knowledge/{article.key}/", settings).status_code == 403  # publishers only
    assert Client().get("/help/refund-limits/").status_code == 200
    supervisor = _client(Role.SUPERVISOR)
    supervisor.post(f"/console/knowledge/{article.key}/", settings)
    assert Client().get("/help/refund-limits/").status_code == 404
    article.refresh_from_db()
    assert (article.kind, article.visibility) == ("article", "internal")
    bad = supervisor.post(f"/console/knowledge/{article.key}/", {**settings, "kind": "poem"}, follow=True,
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "Choose a kind and a visibility from the lists." in bad.content.decode()
