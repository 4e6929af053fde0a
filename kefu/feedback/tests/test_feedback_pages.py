"""The console's feedback pages: who may open them, the figures they show, the questions administrators
edit, and query budgets that do not grow with the rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.accounts.models import Role, User
from kefu.core.clock import advance, now
from kefu.feedback import selectors, services
from kefu.feedback.models import FollowUpTask, PanelMember, SurveyQuestion
from kefu.feedback.tests.support import ALL_FIVES, answered, closed_ticket, survey_link
from kefu.testing import factories

pytestmark = pytest.mark.django_db

BAD = {"attitude": "2", "speed": "2", "solution": "1", "overall": "2", "nps": "3", "comment": ""}


def _client(role: str) -> Client:
    client = Client()
    client.force_login(factories.staff(role))
    return client


def _period() -> tuple[dt.datetime, dt.datetime]:
    return now() - dt.timedelta(days=1), now() + dt.timedelta(seconds=1)


def test_csat_nps_and_overall_scores_are_computed_as_documented(clock: dt.datetime, agent: User) -> None:
    tickets = [closed_ticket(agent) for _ in range(4)]
    advance(dt.timedelta(hours=2))
    overall_nps = [("5", "10"), ("4", "9"), ("3", "7"), ("1", "2")]
    for ticket, (overall, nps) in zip(tickets, overall_nps, strict=True):
        answered(ticket, {**ALL_FIVES, "overall": overall, "nps": nps})
    [total] = selectors.csat_summary(_period())
    assert (total.responses, total.satisfied, total.csat) == (4, 2, 50.0)
    assert total.means["overall"] == 3.25 and total.means["attitude"] == 5.0
    score = selectors.nps(_period())
    assert (score.promoters, score.passives, score.detractors, score.score) == (2, 1, 1, 25.0)
    assert selectors.overall_score_by_ticket([t.pk for t in tickets] + [999999]) == {
        tickets[0].pk: 5, tickets[1].pk: 4, tickets[2].pk: 3, tickets[3].pk: 1}
    from kefu.tickets.models import Ticket

    assert selectors.overall_score_by_ticket(Ticket.objects.filter(pk=tickets[0].pk).values_list("pk", flat=True)) == {
        tickets[0].pk: 5}
    [by_channel] = selectors.csat_summary(_period(), by="channel")
    assert (by_channel.group, by_channel.responses) == ("web", 4)
    empty = selectors.nps((now() - dt.timedelta(days=30), now() - dt.timedelta(days=20)))
    assert empty.score is None


def test_results_page_for_supervisors_admins_and_qa_only(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, {**ALL_FIVES, "comment": "Lovely service"})
    for role in (Role.SUPERVISOR, Role.ADMIN, Role.QA):
        page = _client(role).get("/console/surveys/?days=7")
        assert page.status_code == 200
        html = page.content.decode()
        assert "Lovely service" in html and "100.0 %" in html
    assert _client(Role.AGENT).get("/console/surveys/").status_code == 403
    customer = Client()
    customer.force_login(ticket.customer.user)
    assert customer.get("/console/surveys/").status_code == 404
    assert Client().get("/console/surveys/").status_code == 302  # to the sign-in page


def test_follow_ups_are_for_supervisors_and_admins(clock: dt.datetime, agent: User, supervisor: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, BAD)
    task = FollowUpTask.objects.get()
    for role in (Role.AGENT, Role.QA):
        client = _client(role)
        assert client.get("/console/follow-ups/").status_code == 403
        assert client.get(f"/console/follow-ups/{task.pk}/").status_code == 403
        assert client.post(f"/console/follow-ups/{task.pk}/", {"action": "contact"}).status_code == 403
    task.refresh_from_db()
    assert task.state == "open"
    admin = _client(Role.ADMIN)
    assert admin.get(f"/console/follow-ups/{task.pk}/").status_code == 200
    assert admin.get(f"/console/follow-ups/{task.pk + 1000}/").status_code == 404


def test_admin_edits_questions_and_a_question_with_answers_is_retired(clock: dt.datetime, agent: User) -> None:
    admin = _client(Role.ADMIN)
    assert _client(Role.SUPERVISOR).get("/console/surveys/questions/").status_code == 403
    response = admin.post("/console/surveys/questions/", {
        "action": "save", "key": "wait", "kind": "score", "text_en": "Was the wait acceptable?",
        "text_zh": "等待时间是否可以接受？", "required": "on", "active": "on", "position": "9"})
    assert response.status_code == 302
    wait = SurveyQuestion.objects.get(key="wait")
    assert (wait.required, wait.active, wait.position) == (True, True, 9)

    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, {**ALL_FIVES, "wait": "4"})
    speed = SurveyQuestion.objects.get(key="speed")
    admin.post("/console/surveys/questions/", {"action": "remove", "question": speed.pk})
    speed.refresh_from_db()
    assert speed.active is False  # kept: it has an answer
    page = admin.post("/console/surveys/questions/", {
        "action": "save", "question": speed.pk, "key": "speed", "kind": "comment", "text_en": "x", "text_zh": "x",
        "active": "on"}, follow=True).content.decode()
    assert "its kind cannot change" in page
    unused = SurveyQuestion.objects.create(key="unused", text_en="U", text_zh="U", active=False)
    admin.post("/console/surveys/questions/", {"action": "remove", "question": unused.pk})
    assert not SurveyQuestion.objects.filter(key="unused").exists()

    advance(dt.timedelta(days=1))
    closed = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    html = Client().get(survey_link(closed)).content.decode()
    assert "Was the wait acceptable?" in html and "speed of our response" not in html


def _answer_bad_surveys(agent: User, count: int) -> None:
    tickets = [closed_ticket(agent) for _ in range(count)]
    advance(dt.timedelta(hours=2))
    for ticket in tickets:
        answered(ticket, BAD)


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_pages_do_not_grow_queries_with_rows(clock: dt.datetime, agent: User, supervisor: User) -> None:
    boss = Client()
    boss.force_login(supervisor)
    _answer_bad_surveys(agent, 1)
    PanelMember.objects.create(customer=factories.customer(language="en"), language="en")
    for url in ("/console/follow-ups/", "/console/surveys/"):
        boss.get(url)  # per-process caches (calendars, alerts) warm up on the first request
    few = {url: _queries(boss, url) for url in ("/console/follow-ups/", "/console/surveys/")}
    _answer_bad_surveys(agent, 19)
    for n in range(19):
        PanelMember.objects.create(customer=factories.customer(name=f"Panel {n}"), language="en")
    assert FollowUpTask.objects.count() == 20
    many = {url: _queries(boss, url) for url in few}
    assert many == few
