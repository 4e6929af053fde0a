"""Agent assist as the agent meets it on the ticket page: triage on intake, similar resolved tickets,
suggested articles and reply templates (with A/B variants), all through the access layer."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import Role
from kefu.assist import selectors
from kefu.assist.models import ReplyTemplate, TemplateUse
from kefu.notifications.models import StaffAlert
from kefu.testing import factories
from kefu.tickets import services
from kefu.tickets.models import Category

pytestmark = pytest.mark.django_db


def _resolve(ticket, agent, summary: str) -> None:  # type: ignore[no-untyped-def]
    services.verify_fix(ticket, actor=agent, note="checked")
    services.resolve_ticket(ticket, actor=agent, summary=summary)


def _page(user, ticket) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client.get(f"/console/tickets/{ticket.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def _suggestions(user, ticket, *, htmx: bool = True) -> str:  # type: ignore[no-untyped-def]
    """What the ticket page's panel loads after the page (htmx), or the page of its own without JavaScript."""
    client = Client()
    client.force_login(user)
    headers = {"Accept-Language": "en", **({"HX-Request": "true"} if htmx else {})}
    return client.get(f"/console/tickets/{ticket.pk}/assist/", headers=headers).content.decode()


def test_a_threat_to_go_to_the_regulator_raises_priority_and_alerts_the_supervisor():
    team = factories.department("After-sales")
    supervisor = factories.staff(Role.SUPERVISOR, teams=(team,))
    factories.staff(Role.SUPERVISOR, teams=(factories.department("Other team"),))
    customer = factories.customer()
    ticket = services.open_ticket(customer=customer, subject="退款问题", actor=customer.user, team=team,
                                  description="你们就是骗子！再不退款我就去１２３１５投诉，还要找媒体曝光。",
                                  priority="normal")
    assert (ticket.escalation_risk, ticket.priority) == ("high", "high")  # raised even over a given priority
    assert ["regulator_threat", "１２３１５"] in ticket.triage["risk"]["reasons"]
    assert list(StaffAlert.objects.values_list("user_id", "kind")) == [(supervisor.pk, "escalation_risk")]
    page = _page(supervisor, ticket)
    assert "threatens to go to a regulator or consumer association “１２３１５”" in page
    assert "threatens to go to the media" in page


def test_intake_sets_a_confident_category_and_leaves_a_given_one():
    customer = factories.customer()
    refund = services.open_ticket(customer=customer, subject="申请退款", actor=customer.user,
                                  description="订单收到后不想要了，请帮我办理退款退货。")
    assert refund.category is not None and refund.category.slug == "service-request"
    assert refund.triage["category"]["value"] == "service-request"
    given = Category.objects.get(slug="consultation")
    kept = services.open_ticket(customer=customer, subject="My screen is broken", actor=customer.user,
                                description="The phone screen is broken and shows an error.", category=given)
    assert kept.category == given and kept.triage["category"]["value"] == "fault"


def test_similar_resolved_tickets_come_with_their_resolution_and_respect_team_access():
    mine, other = factories.department("Team A"), factories.department("Team B")
    agent = factories.staff(Role.AGENT, teams=(mine,))
    colleague = factories.staff(Role.AGENT, teams=(other,))
    customer = factories.customer()
    shown = factories.ticket(customer, subject="Earbuds will not pair with my phone", team=mine,
                             description="Bluetooth pairing fails every time")
    services.accept_ticket(shown, actor=agent)
    _resolve(shown, agent, "Reset the earbuds by holding the button for 10 seconds")
    hidden = factories.ticket(customer, subject="Earbuds will not pair at all", team=other,
                              description="Bluetooth pairing fails")
    services.accept_ticket(hidden, actor=colleague)
    _resolve(hidden, colleague, "Secret fix from team B")
    unrelated = factories.ticket(customer, subject="Invoice for October", team=mine, description="VAT invoice")
    services.accept_ticket(unrelated, actor=agent)
    _resolve(unrelated, agent, "Sent the invoice")
    new = factories.ticket(customer, subject="My earbuds do not pair", team=mine,
                           description="Pairing over bluetooth fails")
    cases = selectors.similar_cases(agent, new)
    assert [c.ticket for c in cases] == [shown]
    assert cases[0].resolution == "Reset the earbuds by holding the button for 10 seconds"
    page = _page(agent, new)
    assert f'hx-get="/console/tickets/{new.pk}/assist/"' in page and "Reset the earbuds" not in page
    fragment = _suggestions(agent, new)
    assert "Reset the earbuds by holding the button" in fragment and "Secret fix from team B" not in fragment
    assert "<html" not in fragment  # a fragment for the panel
    # Without JavaScript the panel's link opens the suggestions as a page of their own.
    own_page = _suggestions(agent, new, htmx=False)
    assert "<html" in own_page and "Back to the ticket" in own_page and "Reset the earbuds" in own_page
    # Another team's agent may not open this ticket, so neither its suggestions.
    client = Client()
    client.force_login(colleague)
    assert client.get(f"/console/tickets/{new.pk}/assist/").status_code == 404
    # A supervisor sees every team's tickets, so both cases.
    assert {c.ticket for c in selectors.similar_cases(factories.staff(Role.SUPERVISOR), new)} == {shown, hidden}


def test_similar_cases_look_past_newer_open_tickets_within_the_newest_matches(monkeypatch):
    agent = factories.staff(Role.AGENT)
    customer = factories.customer()
    solved = factories.ticket(customer, subject="Router keeps rebooting", description="The router reboots hourly")
    services.accept_ticket(solved, actor=agent)
    _resolve(solved, agent, "Replaced the power adapter")
    for n in range(4):  # newer, still open, same words
        factories.ticket(customer, subject=f"Router keeps rebooting {n}", description="The router reboots")
    new = factories.ticket(customer, subject="My router reboots", description="Router rebooting again")
    cases = selectors.similar_cases(agent, new)
    assert [(c.ticket, c.resolution) for c in cases] == [(solved, "Replaced the power adapter")]
    # Only the newest MATCH_WINDOW text matches are looked at, so the cost stays bounded on a large desk.
    monkeypatch.setattr(selectors, "MATCH_WINDOW", 4)
    assert selectors.similar_cases(agent, new) == []


def test_suggested_articles_include_internal_ones_only_for_staff():
    factories.article("earbuds-pairing", texts={"en": ("Earbuds do not pair", "Hold the button 10 seconds.")})
    factories.article("earbuds-replacement-policy", visibility="internal",
                      texts={"en": ("Earbuds replacement policy", "Replace earbuds that do not pair after a reset.")})
    customer = factories.customer()
    ticket = factories.ticket(customer, subject="Earbuds do not pair", description="pairing fails")
    agent = factories.staff(Role.AGENT)
    assert {r.entry.key for r in selectors.suggested_articles(agent, ticket)} == {
        "earbuds-pairing", "earbuds-replacement-policy"}
    assert [r.entry.key for r in selectors.suggested_articles(customer.user, ticket)] == ["earbuds-pairing"]


def test_templates_fill_in_variables_and_split_an_experiment_between_variants():
    customer = factories.customer(name="Chen Jing")
    category = Category.objects.get(slug="service-request")
    ReplyTemplate.objects.create(name="Refund received", locale="en", category=category,
                                 body="Dear {customer_name}, your refund for #{ticket_number} is on its way. "
                                      "— {agent_name}")
    for variant in ("A", "B"):
        ReplyTemplate.objects.create(name="Apology", locale="en", experiment="apology-2026", variant=variant,
                                     body=f"Variant {variant}: sorry, {{customer_name}}.", keywords="sorry, late")
    ReplyTemplate.objects.create(name="中文模板", locale="zh-hans", body="您好")
    agent = factories.staff(Role.AGENT, name="Agent Wu")
    tickets = [factories.ticket(customer, subject="Refund is late", category=category, language="en")
               for _ in range(2)]
    shown = [selectors.suggested_templates(agent, t) for t in tickets]
    first = shown[0][0]
    assert first.template.name == "Refund received"  # the category and nothing else
    assert first.text == f"Dear Chen Jing, your refund for #{tickets[0].number} is on its way. — Agent Wu"
    variants = {s.template.variant for suggestions in shown for s in suggestions if s.template.experiment}
    assert variants == {"A", "B"}  # two tickets in a row see the two variants
    assert all(len([s for s in suggestions if s.template.experiment]) == 1 for suggestions in shown)
    assert "中文模板" not in {s.template.name for suggestions in shown for s in suggestions}


def test_a_reply_sent_from_a_template_counts_for_its_experiment_once():
    agent = factories.staff(Role.AGENT)
    ticket = factories.ticket(factories.customer())
    services.accept_ticket(ticket, actor=agent)
    template = ReplyTemplate.objects.create(name="Hello", locale="en", body="Hello", experiment="greeting",
                                            variant="A")
    client = Client()
    client.force_login(agent)
    for _ in range(2):
        client.post(f"/console/tickets/{ticket.pk}/reply/", {"body": "Hello there", "template": str(template.pk)})
    client.post(f"/console/tickets/{ticket.pk}/reply/", {"body": "No template", "template": "not-a-number"})
    assert TemplateUse.objects.filter(template=template, ticket=ticket).count() == 1
    assert ticket.messages.filter(body_text="No template").exists()


def test_experiment_report_says_when_a_variant_is_better_and_only_to_supervisors():
    agent = factories.staff(Role.AGENT)
    a = ReplyTemplate.objects.create(name="Apology", locale="en", body="A", experiment="apology", variant="A")
    b = ReplyTemplate.objects.create(name="Apology", locale="en", body="B", experiment="apology", variant="B")
    customer = factories.customer()
    for template, resolved in ((a, 18), (b, 4)):
        for n in range(20):
            ticket = factories.ticket(customer)
            services.accept_ticket(ticket, actor=agent)
            TemplateUse.objects.create(template=template, ticket=ticket, agent=agent)
            if n < resolved:
                _resolve(ticket, agent, "done")
    client = Client()
    client.force_login(factories.staff(Role.SUPERVISOR))
    page = client.get("/console/experiments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Variant A resolves more tickets without a reopen (p = 0.0" in page
    client.force_login(agent)
    assert client.get("/console/experiments/").status_code == 403


def test_an_unsure_triage_takes_the_category_past_tickets_had():
    from kefu.bot import brain

    agent = factories.staff(Role.AGENT)
    customer = factories.customer()
    made_up = {"complaint": "zorblax membership card", "fault": "flumox gadget display",
               "consultation": "quibz voucher"}
    for slug, words in made_up.items():
        for n in range(6):
            ticket = factories.ticket(customer, subject=f"About the {words} {n}", description=f"My {words}.",
                                      category=Category.objects.get(slug=slug))
            services.accept_ticket(ticket, actor=agent)
            _resolve(ticket, agent, "done")
    assert brain.current_categories() is None
    learnt = brain.train_categories()
    assert learnt is not None and learnt.n_tickets == 18
    brain.save(learnt, brain.category_model_path())
    ticket = services.open_ticket(customer=customer, subject="Zorblax membership card again",
                                  description="The zorblax membership card.", actor=customer.user)
    assert ticket.category is not None and ticket.category.slug == "complaint"
    assert ticket.triage["category"] == {"value": "complaint", "confidence": 0.6, "reasons": [["past_tickets", ""]]}
    assert "learnt from past tickets" in _page(agent, ticket)


def test_experiment_report_compares_the_satisfaction_of_the_customers_each_variant_served():
    from kefu.feedback import services as feedback
    from kefu.notifications.models import Notification

    agent = factories.staff(Role.AGENT)
    a = ReplyTemplate.objects.create(name="Thanks", locale="en", body="A", experiment="thanks", variant="A")
    b = ReplyTemplate.objects.create(name="Thanks", locale="en", body="B", experiment="thanks", variant="B")
    for template, satisfied in ((a, 18), (b, 5)):
        for n in range(20):
            customer = factories.customer(language="en")  # a customer is surveyed once a month at most
            ticket = factories.ticket(customer)
            services.accept_ticket(ticket, actor=agent)
            TemplateUse.objects.create(template=template, ticket=ticket, agent=agent)
            _resolve(ticket, agent, "done")
            services.confirm_resolution(ticket, actor=customer.user)
            feedback.survey_ticket(ticket.pk)
            link = str(Notification.objects.get(ticket_id=ticket.pk, template="survey").context["survey_url"])
            score = "5" if n < satisfied else "2"
            feedback.submit_survey(link.rstrip("/").rsplit("/", 1)[1], {
                "attitude": score, "speed": score, "solution": score, "overall": score, "nps": "8", "comment": ""})
    [report] = selectors.experiment_reports(factories.staff(Role.SUPERVISOR))
    assert [(v.surveyed, v.satisfied) for v in report.variants] == [(20, 18), (20, 5)]
    client = Client()
    client.force_login(factories.staff(Role.SUPERVISOR))
    page = client.get("/console/experiments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Variant A leaves more customers satisfied (p = 0.0" in page
    assert "90 %" in page and "25 %" in page  # each variant's CSAT
