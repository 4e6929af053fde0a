"""Reply templates (话术) kept in the console: supervisors write them, every agent sees them suggested."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import Role, User
from kefu.assist.models import ReplyTemplate
from kefu.core.models import AuditEntry
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def _client(role: str) -> tuple[Client, User]:
    client, user = Client(), factories.staff(role)
    client.force_login(user)
    return client, user


def test_a_supervisors_new_template_is_suggested_on_a_matching_ticket_with_its_values_filled_in():
    supervisor, _user = _client(Role.SUPERVISOR)
    response = supervisor.post("/console/templates/new/", {
        "name": "Refund confirmed", "locale": "en", "active": "on", "keywords": "refund",
        "body": "Dear {customer_name}, your refund for ticket {ticket_number} is on its way."})
    assert response.status_code == 302 and response["Location"] == "/console/templates/"
    template = ReplyTemplate.objects.get(name="Refund confirmed")
    assert AuditEntry.objects.filter(action="assist.template_created", target_id=str(template.pk)).exists()

    agent_client, agent = _client(Role.AGENT)
    ticket = factories.worked_ticket(agent, customer_=factories.customer("Li Lei", language="en"),
                                     subject="Where is my refund?", language="en")
    # The ticket page loads its suggestions after itself, as htmx asks for them.
    page = agent_client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert f'hx-get="/console/tickets/{ticket.pk}/assist/"' in page
    suggestions = agent_client.get(f"/console/tickets/{ticket.pk}/assist/", HTTP_HX_REQUEST="true").content.decode()
    assert f"Dear Li Lei, your refund for ticket {ticket.number} is on its way." in suggestions


def test_an_unknown_variable_is_refused_with_the_known_ones_listed_and_the_text_kept():
    supervisor, _user = _client(Role.SUPERVISOR)
    response = supervisor.post("/console/templates/new/", {
        "name": "Typo", "locale": "en", "body": "Hello {custmer_name}"}, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Unknown variables: {custmer_name}" in page and "{customer_name}" in page and "Hello {custmer_name}" in page
    assert not ReplyTemplate.objects.exists()


def test_an_ab_variant_needs_both_experiment_and_variant():
    supervisor, _user = _client(Role.SUPERVISOR)
    response = supervisor.post("/console/templates/new/", {
        "name": "Greeting", "locale": "en", "body": "Hi", "experiment": "greeting-test"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "needs both the experiment" in response.content.decode()


def test_editing_changes_the_template_and_keeps_its_uses_and_agents_may_only_read():
    template = ReplyTemplate.objects.create(name="Apology", locale="zh-hans", body="抱歉给您带来不便。")
    agent, _user = _client(Role.AGENT)
    listing = agent.get("/console/templates/").content.decode()
    assert "Apology" in listing and f"/console/templates/{template.pk}/" not in listing
    assert agent.get(f"/console/templates/{template.pk}/").status_code == 403
    refused = agent.post(f"/console/templates/{template.pk}/", {"name": "x", "locale": "en", "body": "y"})
    assert refused.status_code == 403

    supervisor, _user = _client(Role.SUPERVISOR)
    response = supervisor.post(f"/console/templates/{template.pk}/", {
        "name": "Apology", "locale": "zh-hans", "body": "非常抱歉，{customer_name}。"})  # unticked: inactive
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.body, template.active) == ("非常抱歉，{customer_name}。", False)
    entry = AuditEntry.objects.get(action="assist.template_updated", target_id=str(template.pk))
    assert set(entry.changes) == {"body", "active"}
    assert supervisor.get("/console/templates/999999/").status_code == 404


def test_the_list_costs_the_same_queries_for_one_template_or_twenty(django_assert_max_num_queries):
    supervisor, _user = _client(Role.SUPERVISOR)
    ReplyTemplate.objects.create(name="One", body="1")
    supervisor.get("/console/templates/")  # warm the session and the caches
    with django_assert_max_num_queries(12) as one:
        supervisor.get("/console/templates/")
    ReplyTemplate.objects.bulk_create(ReplyTemplate(name=f"T{i}", body="x") for i in range(19))
    with django_assert_max_num_queries(12) as twenty:
        page = supervisor.get("/console/templates/").content.decode()
    assert "T18" in page
    assert len(twenty.captured_queries) == len(one.captured_queries)
