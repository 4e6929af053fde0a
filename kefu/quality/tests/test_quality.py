"""Quality assurance through what people touch: the daily sample (scheduler job and command), the
reviewer's scorecard page, rework on a failed review with a moving clock, calibration, the scorecard
editor, pass rates, who sees what, and that customers see nothing of it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kefu.accounts.models import Role, User
from kefu.core.clock import advance, frozen_at, now
from kefu.notifications.models import StaffAlert
from kefu.quality import selectors, services, tasks
from kefu.quality.models import Criterion, QaReview, QaSample, ReworkTask, SamplingRun, Scorecard
from kefu.testing import factories
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Ticket, TicketEvent
from kefu.tickets.states import Status

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)  # a Monday
MORNING = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def closed_ticket(agent: User, *, channel: str = "web", at: dt.datetime = MORNING, team=None) -> Ticket:
    with frozen_at(at):
        ticket = factories.worked_ticket(agent, channel=channel, team=team)
        factories_ticket_reply(ticket, agent)
        ticket_services.verify_fix(ticket, actor=agent)
        ticket_services.resolve_ticket(ticket, actor=agent, summary="Done")
        ticket_services.confirm_resolution(ticket, actor=ticket.customer.user)
    ticket.refresh_from_db()
    return ticket


def factories_ticket_reply(ticket: Ticket, agent: User) -> None:
    ticket_services.reply_to_customer(ticket, "Hello, I have reset your password.", actor=agent)


def login(role: str = Role.QA, **kwargs) -> tuple[Client, User]:
    client = Client()
    user = factories.staff(role, **kwargs)
    client.force_login(user)
    return client, user


def criteria() -> list[Criterion]:
    return list(services.current_scorecard().criteria.filter(active=True))


def scores_form(value: str, **overrides: str) -> dict[str, str]:
    form = {f"score_{c.pk}": overrides.get(c.key, value) for c in criteria()}
    return form


# ---------------------------------------------------------------------------------------------- sampling


def test_the_daily_job_samples_the_rate_of_yesterdays_closed_tickets_and_every_mandatory_one(settings):
    settings.KEFU = {**settings.KEFU, "QA_SAMPLE_RATE": 0.2}
    agents = [factories.staff(), factories.staff()]
    plain = [closed_ticket(agents[n % 2]) for n in range(10)]
    bad = closed_ticket(agents[0], channel="email")
    ticket_services.record_ticket_event(bad, "survey_answered", actor=None, bad=True, overall=2)
    happy = closed_ticket(agents[0], channel="email")
    ticket_services.record_ticket_event(happy, "survey_answered", actor=None, bad=False, overall=5)
    escalated = closed_ticket(agents[1], channel="chat")
    ticket_services.record_ticket_event(escalated, "escalated", actor=None)
    breached = closed_ticket(agents[1], channel="chat")
    ticket_services.record_ticket_event(breached, "sla_breached", actor=None, clock="resolution")
    reopened = closed_ticket(agents[0], channel="phone")
    with frozen_at(MORNING + dt.timedelta(hours=1)):
        ticket_services.change_status(reopened, "reopen", actor=agents[0])
        ticket_services.verify_fix(reopened, actor=agents[0])
        ticket_services.resolve_ticket(reopened, actor=agents[0])
        ticket_services.confirm_resolution(reopened, actor=reopened.customer.user)
    closed_ticket(agents[0], at=MORNING - dt.timedelta(days=1))  # the day before: not this day's population

    with frozen_at(dt.datetime(2026, 3, 3, 0, 30, tzinfo=SHANGHAI)):
        tasks.sample_closed_tickets()  # before the sampling hour: nothing yet
        assert not SamplingRun.objects.exists()
        advance(dt.timedelta(hours=1))
        tasks.sample_closed_tickets()
        tasks.sample_closed_tickets()  # a second turn is a no-op

    run = SamplingRun.objects.get()
    assert (run.day, run.closed) == (DAY, 15)
    samples = {s.ticket_id: s for s in QaSample.objects.filter(day=DAY)}
    assert samples[bad.pk].reason == "bad_score"
    assert samples[escalated.pk].reason == "escalated"
    assert samples[breached.pk].reason == "breached"
    assert samples[reopened.pk].reason == "reopened"
    assert happy.pk not in samples or samples[happy.pk].reason == "random"
    random_ones = [s for s in samples.values() if s.reason == "random"]
    # 15 closed × 20 % = 3, shared by stratum: the plain web tickets (5 per agent → 1 each) are drawn;
    # the strata holding the mandatory tickets are filled by them.
    assert len(samples) == run.sampled == 6
    assert {s.agent_id for s in random_ones} == {agents[0].pk, agents[1].pk}
    assert all(s.ticket_id in {t.pk for t in plain} for s in random_ones)
    assert TicketEvent.objects.filter(type="qa_sampled", public=False).count() == 6


def test_the_command_samples_a_given_day_once_and_the_same_tickets_every_time(settings):
    agent = factories.staff()
    for _n in range(10):
        closed_ticket(agent)
    out = _command("--day", "2026-03-02", "--rate", "0.3")
    assert "3 of 10 closed tickets sampled" in out
    first = set(QaSample.objects.values_list("ticket_id", flat=True))
    assert "already sampled" in _command("--day", "2026-03-02")
    QaSample.objects.all().delete()
    SamplingRun.objects.all().delete()
    _command("--day", "2026-03-02", "--rate", "0.3")
    assert set(QaSample.objects.values_list("ticket_id", flat=True)) == first


def test_the_day_is_the_local_day_in_shanghai():
    agent = factories.staff()
    late = closed_ticket(agent, at=dt.datetime(2026, 3, 2, 23, 50, tzinfo=SHANGHAI))  # 15:50 UTC
    early = closed_ticket(agent, at=dt.datetime(2026, 3, 3, 0, 10, tzinfo=SHANGHAI))  # still 3-02 in UTC
    services.sample_day(DAY, rate=1)
    assert set(QaSample.objects.values_list("ticket_id", flat=True)) == {late.pk}
    assert early.pk not in set(QaSample.objects.values_list("ticket_id", flat=True))


def test_a_bad_score_that_comes_after_the_days_sample_joins_the_next_days_sample():
    agent = factories.staff()
    ticket = closed_ticket(agent)
    services.sample_day(DAY, rate=0)
    assert not QaSample.objects.exists()
    ticket_services.record_ticket_event(ticket, "survey_answered", actor=None, bad=True)
    services.sample_day(DAY + dt.timedelta(days=1), rate=0)
    sample = QaSample.objects.get()
    assert (sample.ticket_id, sample.reason, sample.day) == (ticket.pk, "bad_score", DAY + dt.timedelta(days=1))


def _command(*args: str) -> str:
    import io

    out = io.StringIO()
    with frozen_at(dt.datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)):
        call_command("quality", "sample", *args, stdout=out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- review → rework


def test_a_failed_review_opens_rework_that_the_agent_completes_end_to_end(settings):
    settings.KEFU = {**settings.KEFU, "QA_REWORK_HOURS": 24}
    agent = factories.staff(name="Li Wei")
    ticket = closed_ticket(agent)
    services.sample_day(DAY, rate=1)
    qa, _reviewer = login(Role.QA)
    message = ticket.messages.get(kind="reply")
    with frozen_at(dt.datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)):
        page = qa.get(reverse("web:console_qa"))
        assert f"#{ticket.number}" in page.content.decode()
        form = qa.get(reverse("web:console_qa_review", args=[ticket.pk]))
        assert "Hello, I have reset your password." in form.content.decode()
        url = reverse("web:console_qa_review", args=[ticket.pk])
        saved = qa.post(url, {**scores_form("2"), "action": "save", f"message_{message.pk}": "Too curt.",
                              "summary": "Greet the customer."}, follow=True)
        assert "Draft saved." in saved.content.decode()
        assert not ReworkTask.objects.exists()
        submitted = qa.post(url, {**scores_form("2"), "action": "submit", f"message_{message.pk}": "Too curt.",
                                  "summary": "Greet the customer."}, follow=True)
        assert "Review submitted." in submitted.content.decode()
        assert "40.0 %" in submitted.content.decode()
        # the queue no longer lists it
        assert f"#{ticket.number}</a></td>\n        <td><a" not in qa.get(reverse("web:console_qa")).content.decode()

    task = ReworkTask.objects.get()
    assert task.agent == agent
    assert task.due_at == dt.datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
    assert StaffAlert.objects.filter(user=agent, kind="qa_rework", ticket_id=ticket.pk).exists()
    types = list(TicketEvent.objects.filter(ticket=ticket, type__startswith="qa_").order_by("pk")
             .values_list("type", "public"))
    assert types == [("qa_sampled", False), ("qa_reviewed", False), ("qa_failed", False),
                     ("qa_rework_opened", False)]

    me = Client()
    me.force_login(agent)
    with frozen_at(dt.datetime(2026, 3, 4, 10, 0, tzinfo=SHANGHAI)):  # a day and an hour later: overdue
        rework_page = me.get(reverse("web:console_rework")).content.decode()
        assert f"#{ticket.number}" in rework_page and "overdue" in rework_page
        detail = me.get(reverse("web:console_ticket", args=[ticket.pk])).content.decode()
        assert "Too curt." not in detail  # message comments stay on the review page
        assert "40.0 %" in detail and "Greet the customer." in detail and "Rework due" in detail
        # handled again: the agent reopens the ticket through the usual status machine to call the customer back
        me.post(reverse("web:console_status", args=[ticket.pk]), {"action": "reopen", "reason": "QA follow-up"})
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
        refused = me.post(reverse("web:console_rework_done", args=[task.pk]), {"note": "  "}, follow=True)
        assert "Say what you did" in refused.content.decode()
        done = me.post(reverse("web:console_rework_done", args=[task.pk]),
                       {"note": "Called the customer and apologised."}, follow=True)
    assert "Rework recorded as done." in done.content.decode()
    task.refresh_from_db()
    assert task.state == ReworkTask.State.DONE and task.done_by == agent
    event = TicketEvent.objects.get(ticket=ticket, type="qa_rework_done")
    assert event.payload["late"] is True and event.public is False


def test_a_passing_review_opens_no_rework_and_a_critical_zero_fails_it():
    agent = factories.staff()
    good, critical = closed_ticket(agent), closed_ticket(agent)
    qa, _reviewer = login(Role.QA)
    qa.post(reverse("web:console_qa_review", args=[good.pk]), {**scores_form("5"), "action": "submit"})
    qa.post(reverse("web:console_qa_review", args=[critical.pk]),
            {**scores_form("5", identity_verification="0"), "action": "submit"})
    assert QaReview.objects.get(ticket=good).passed is True
    failed = QaReview.objects.get(ticket=critical)
    assert failed.passed is False and str(failed.total) == "85.0"
    assert list(ReworkTask.objects.values_list("ticket_id", flat=True)) == [critical.pk]


def test_a_review_cannot_be_submitted_half_scored_nor_changed_once_submitted():
    ticket = closed_ticket(factories.staff())
    qa, _reviewer = login(Role.QA)
    url = reverse("web:console_qa_review", args=[ticket.pk])
    first = criteria()[0]
    page = qa.post(url, {f"score_{first.pk}": "5", "action": "submit"}, follow=True)
    assert "Score every criterion" in page.content.decode()
    assert QaReview.objects.get().state == QaReview.State.DRAFT
    na = {f"score_{c.pk}": "na" for c in criteria()}
    assert "Score at least one criterion" in qa.post(url, {**na, "action": "submit"}, follow=True).content.decode()
    qa.post(url, {**scores_form("4"), "action": "submit"})
    again = qa.post(url, {**scores_form("0"), "action": "submit"}, follow=True)
    assert "cannot be changed" in again.content.decode()
    assert str(QaReview.objects.get().total) == "80.0"


def test_not_applicable_criteria_leave_the_total():
    ticket = closed_ticket(factories.staff())
    qa, _reviewer = login(Role.QA)
    # identity verification n/a; everything else 4 of 5 → 80 %
    qa.post(reverse("web:console_qa_review", args=[ticket.pk]),
            {**scores_form("4", identity_verification="na"), "action": "submit"})
    assert str(QaReview.objects.get().total) == "80.0"


def test_nobody_reviews_their_own_ticket():
    supervisor = factories.staff(Role.SUPERVISOR)
    ticket = closed_ticket(supervisor)
    client = Client()
    client.force_login(supervisor)
    response = client.post(reverse("web:console_qa_review", args=[ticket.pk]), {**scores_form("5"), "action": "submit"})
    assert response.status_code == 403
    assert not QaReview.objects.exists()


# ---------------------------------------------------------------------------------------------- calibration


def test_calibration_shows_both_reviews_their_differences_and_the_disagreement():
    ticket = closed_ticket(factories.staff())
    first, one = login(Role.QA, name="Reviewer One")
    second, two = login(Role.SUPERVISOR, name="Reviewer Two")
    url = reverse("web:console_qa_review", args=[ticket.pk])
    first.post(url, {**scores_form("5"), "action": "submit"})
    page = second.get(url).content.decode()
    assert "calibration review" in page
    second.post(url, {**scores_form("3", closing="1"), "action": "submit"})
    calibration = QaReview.objects.get(reviewer=two)
    assert calibration.calibration_of == QaReview.objects.get(reviewer=one)
    assert not ReworkTask.objects.exists()  # only the primary review decides

    html = first.get(reverse("web:console_qa_calibration", args=[ticket.pk])).content.decode()
    assert "Reviewer One" in html and "Reviewer Two" in html
    assert '<td class="qa-difference">4</td>' in html  # closing: 5 against 1
    assert '<td class="qa-difference">2</td>' in html
    assert "The reviewers disagree on pass or fail." in html
    result = selectors.calibration(one, ticket)
    assert calibration.total is not None
    assert result.total_difference == 100 - calibration.total and result.agree is False


# ---------------------------------------------------------------------------------------------- scorecards, rates


def test_a_supervisor_edits_weights_and_adds_a_criterion_and_new_reviews_use_them():
    client, _user = login(Role.SUPERVISOR)
    card = Scorecard.objects.get(name="Standard")
    greeting = card.criteria.get(key="greeting")
    url = reverse("web:console_qa_scorecards")
    assert "Identity verification" in client.get(url).content.decode()
    client.post(url, {"action": "criterion", "criterion": greeting.pk, "name_en": "Greeting", "name_zh": "开场问候",
                      "weight": "0", "position": "1", "active": "on"})
    client.post(url, {"action": "add", "scorecard": card.pk, "key": "follow_up", "name_en": "Follow-up",
                      "name_zh": "跟进", "weight": "20"})
    bad = client.post(url, {"action": "scorecard", "scorecard": card.pk, "name": "Standard", "pass_mark": "120",
                            "active": "on"}, follow=True)
    assert "between 0 and 100" in bad.content.decode()
    client.post(url, {"action": "scorecard", "scorecard": card.pk, "name": "Standard", "pass_mark": "70",
                      "active": "on"})
    card.refresh_from_db()
    greeting.refresh_from_db()
    assert (card.pass_mark, greeting.weight) == (70, 0)
    assert card.criteria.filter(key="follow_up", weight=20).exists()

    ticket = closed_ticket(factories.staff())
    qa, _reviewer = login(Role.QA)
    # greeting 0 but weightless; everything else 4/5 → 80 %, and 80 ≥ 70 passes
    qa.post(reverse("web:console_qa_review", args=[ticket.pk]),
            {**scores_form("4", greeting="0"), "action": "submit"})
    review = QaReview.objects.get()
    assert (str(review.total), review.passed) == ("80.0", True)


def test_pass_rates_per_agent_team_and_criterion():
    team = factories.department("Billing")
    li, wang = factories.staff(name="Li", teams=(team,)), factories.staff(name="Wang", teams=(team,))
    qa, _reviewer = login(Role.QA)
    for agent, value in [(li, "5"), (li, "1"), (wang, "4")]:
        ticket = closed_ticket(agent, team=team)
        qa.post(reverse("web:console_qa_review", args=[ticket.pk]), {**scores_form(value), "action": "submit"})
    period = (now() - dt.timedelta(days=1), now() + dt.timedelta(minutes=1))
    by_agent = {r.label: (r.reviews, r.passed, str(r.rate)) for r in selectors.pass_rates(period, by="agent")}
    assert by_agent == {"Li": (2, 1, "50.0"), "Wang": (1, 1, "100.0")}
    by_team = selectors.pass_rates(period, by="team")
    assert [(r.label, r.reviews, str(r.rate)) for r in by_team] == [("Billing", 3, "66.7")]
    by_criterion = {r.key: str(r.rate) for r in selectors.pass_rates(period, by="criterion")}
    assert by_criterion["greeting"] == "66.7"  # (5 + 1 + 4) / 15
    assert selectors.reviews_of(li).count() == 2
    page = qa.get(reverse("web:console_qa_rates")).content.decode()
    assert "Li" in page and "50.0 %" in page and "66.7 %" in page


# ---------------------------------------------------------------------------------------------- who sees what


def test_agents_see_only_submitted_reviews_of_their_own_tickets_and_no_qa_pages():
    team = factories.department()
    mine, other = factories.staff(teams=(team,)), factories.staff(teams=(team,))
    my_ticket, other_ticket = closed_ticket(mine, team=team), closed_ticket(other, team=team)
    qa, _reviewer = login(Role.QA)
    qa.post(reverse("web:console_qa_review", args=[my_ticket.pk]), {**scores_form("1"), "action": "save",
                                                                    "summary": "Draft opinion"})
    qa.post(reverse("web:console_qa_review", args=[other_ticket.pk]),
            {**scores_form("1"), "action": "submit", "summary": "Other agent's review"})
    client = Client()
    client.force_login(mine)
    assert "Draft opinion" not in client.get(reverse("web:console_ticket", args=[my_ticket.pk])).content.decode()
    assert "Other agent&#x27;s review" not in client.get(
        reverse("web:console_ticket", args=[other_ticket.pk])).content.decode()
    for name in ["console_qa", "console_qa_scorecards", "console_qa_rates"]:
        assert client.get(reverse(f"web:{name}")).status_code == 403
    for name in ["console_qa_review", "console_qa_calibration"]:
        assert client.get(reverse(f"web:{name}", args=[my_ticket.pk])).status_code == 403
    task = ReworkTask.objects.get()
    assert f"#{other_ticket.number}" not in client.get(reverse("web:console_rework")).content.decode()
    assert client.post(reverse("web:console_rework_done", args=[task.pk]), {"note": "x"}).status_code == 404
    # QA reviewers read but do not work tickets: they cannot complete an agent's rework either
    assert qa.post(reverse("web:console_rework_done", args=[task.pk]), {"note": "x"}).status_code == 403
    customer = Client()
    customer.force_login(my_ticket.customer.user)
    assert customer.get(reverse("web:console_qa")).status_code == 404


def test_customers_see_nothing_of_qa_on_the_portal_and_the_tracking_page():
    agent = factories.staff()
    ticket = closed_ticket(agent)
    services.sample_day(DAY, rate=1)
    qa, _reviewer = login(Role.QA)
    message = ticket.messages.get(kind="reply")
    qa.post(reverse("web:console_qa_review", args=[ticket.pk]),
            {**scores_form("1"), "action": "submit", "summary": "SECRET-QA-SUMMARY",
             f"message_{message.pk}": "SECRET-QA-COMMENT"})
    customer = Client()
    customer.force_login(ticket.customer.user)
    for url in [reverse("web:portal_ticket", args=[ticket.pk]), reverse("web:track", args=[ticket.tracking_token])]:
        html = customer.get(url).content.decode()
        assert customer.get(url).status_code == 200
        for secret in ["SECRET-QA", "quality review", "Quality review", "Rework", "Sampled", "40.0", "20.0"]:
            assert secret not in html, (url, secret)
    assert not TicketEvent.objects.filter(ticket=ticket, type__startswith="qa_", public=True).exists()


# ---------------------------------------------------------------------------------------------- query budgets


@pytest.mark.parametrize("name", ["console_qa", "console_rework", "console_qa_rates"])
def test_list_pages_query_count_does_not_grow_with_rows(name):
    supervisor = factories.staff(Role.SUPERVISOR)
    client = Client()
    client.force_login(supervisor)
    team = factories.department()

    today = timezone.localdate(now())

    def add(n: int) -> None:
        for _n in range(n):
            agent = factories.staff(teams=(team,))
            ticket = closed_ticket(agent, team=team)
            QaSample.objects.create(day=today, ticket=ticket, reason="random", agent=agent, channel="web")
            review = services.start_review(ticket, actor=supervisor)
            services.save_review(review, scores={c.pk: 1 for c in criteria()}, submit=True, actor=supervisor)
            other = closed_ticket(agent, team=team)
            QaSample.objects.create(day=today, ticket=other, reason="random", agent=agent, channel="web")
            services.start_review(other, actor=factories.staff(Role.QA))

    add(1)
    url = reverse(f"web:{name}")
    # One moment for every measured request: a slow machine would otherwise let the presence and session
    # refreshes (time-based, not row-based) fall into one measurement only.
    moment = now()
    with frozen_at(moment):
        client.get(url)  # the first request of a session does its one-off work (presence, session)
        with CaptureQueriesContext(connection) as one:
            assert client.get(url).status_code == 200
    add(19)
    with frozen_at(moment):
        # Again just before measuring: adding the rows may take over a minute on a busy machine, and the
        # console notes an agent's activity once a minute (wall clock), which is not the page's cost.
        client.get(url)
        with CaptureQueriesContext(connection) as twenty:
            assert client.get(url).status_code == 200
    assert len(twenty) == len(one), "\n".join(q["sql"][:200] for q in twenty.captured_queries)
