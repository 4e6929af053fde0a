"""The KPIs of docs/metrics.md on a small history whose every figure is known to the second."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kefu.accounts.models import Role, User
from kefu.analytics import selectors, services
from kefu.core.clock import advance, frozen_at, now
from kefu.core.errors import PermissionDenied
from kefu.feedback import services as feedback
from kefu.notifications.models import Notification
from kefu.quality import services as quality
from kefu.testing import factories
from kefu.tickets import services as tickets
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 11, 2)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of the week of MONDAY (day 0), Shanghai time."""
    return dt.datetime(2026, 11, 2 + day, hour, minute, tzinfo=SHANGHAI)


def go(moment: dt.datetime) -> None:
    """Move the frozen clock to ``moment`` and let the roll-up catch up with everything before it."""
    advance(moment - now())
    services.roll_up_all()


def answer_survey(ticket: Ticket, overall: str, nps: str) -> None:
    feedback.survey_ticket(ticket.pk)
    link = str(Notification.objects.get(ticket_id=ticket.pk, template="survey").context["survey_url"])
    feedback.submit_survey(link.rstrip("/").rsplit("/", 1)[1], {
        "attitude": overall, "speed": overall, "solution": overall, "overall": overall, "nps": nps, "comment": ""})


def build_week() -> dict[str, object]:
    """Three tickets on Monday: A answered in 30 min and solved in 2 h at the first contact; B answered in 2 h,
    written to again by SMS, resolved on Tuesday, objected to, resolved again on Wednesday; C transferred to
    another team. A's customer is pleased (5, NPS 10), B's is not (2, NPS 3); A passes QA, a second reviewer's
    calibration of it does not count."""
    blue, green = factories.department("Blue"), factories.department("Green")
    agent = factories.staff(Role.AGENT, teams=(blue,))
    other = factories.staff(Role.AGENT, teams=(green,))
    reviewers = factories.staff(Role.QA), factories.staff(Role.QA)
    with frozen_at(at(0, 9)):
        a = factories.ticket(factories.customer(language="en"), team=blue, subject="Refund A")
        tickets.accept_ticket(a, actor=agent)
        go(at(0, 9, 30))
        tickets.reply_to_customer(a, "On it", actor=agent)
        go(at(0, 10))
        b = factories.ticket(factories.customer(language="en"), team=blue, subject="Login B")
        tickets.accept_ticket(b, actor=agent)
        go(at(0, 11))
        tickets.verify_fix(a, actor=agent)
        tickets.resolve_ticket(a, actor=agent)
        go(at(0, 12))
        tickets.reply_to_customer(b, "Looking", actor=agent)
        go(at(0, 13))
        tickets.add_customer_message(b, "Still broken", actor=b.customer.user, channel="sms")
        go(at(0, 15))
        c = factories.ticket(factories.customer(language="en"), team=blue, subject="Invoice C")
        tickets.accept_ticket(c, actor=agent)
        go(at(0, 15, 5))
        tickets.transfer_ticket(c, actor=agent, to_agent=other, to_team=green)
        go(at(1, 10))
        tickets.verify_fix(b, actor=agent)
        tickets.resolve_ticket(b, actor=agent)
        go(at(1, 11))
        tickets.object_to_resolution(b, "Not fixed", actor=b.customer.user)
        go(at(2, 10))
        tickets.verify_fix(b, actor=agent)
        tickets.resolve_ticket(b, actor=agent)
        go(at(2, 11))
        for ticket in (a, b):
            tickets.confirm_resolution(ticket, actor=ticket.customer.user)
        answer_survey(a, "5", "10")
        answer_survey(b, "2", "3")
        for reviewer in reviewers:
            review = quality.start_review(a, actor=reviewer)
            quality.save_review(review, scores=dict.fromkeys(
                review.scorecard.criteria.values_list("pk", flat=True), 5), submit=True, actor=reviewer)
        go(at(2, 12))
    return {"agent": agent, "other": other, "blue": blue, "green": green}


def test_every_kpi_of_a_known_week_to_the_second():
    build_week()
    week = selectors.figures(factories.staff(Role.SUPERVISOR), MONDAY, MONDAY + dt.timedelta(days=6))
    assert week.volume == 3
    assert (week.n("first_response"), week.first_response_mean) == (2, (1800 + 7200) / 2)
    assert week.percentile("first_response", 0.5) == 1800
    # Each ticket counts once, at its latest resolution: A after 2 h, B after 48 h.
    assert (week.n("resolved"), week.resolution_mean) == (2, (7200 + 48 * 3600) / 2)
    assert (week.fcr_rate, week.reopen_rate) == (0.5, 0.5)
    assert (week.transfer_rate, week.channel_switch_rate, week.escalation_rate) == (1 / 3, 1 / 3, 0)
    assert (week.csat, week.nps) == (0.5, 0)
    assert (week.n("qa_reviews"), week.qa_pass_rate) == (1, 1.0)


def test_a_reopened_resolution_moves_to_the_day_of_the_new_one():
    build_week()
    supervisor = factories.staff(Role.SUPERVISOR)
    days = dict(selectors.trend(supervisor, MONDAY, MONDAY + dt.timedelta(days=2)))
    assert [days[MONDAY + dt.timedelta(days=d)].n("resolved") for d in range(3)] == [1, 0, 1]
    assert days[MONDAY].volume == 3
    weeks = selectors.trend(supervisor, MONDAY, MONDAY + dt.timedelta(days=13), grain="week")
    assert [(start, figures.volume) for start, figures in weeks] == [(MONDAY, 3), (MONDAY + dt.timedelta(7), 0)]


def test_arrivals_by_weekday_and_hour():
    build_week()
    matrix = selectors.arrivals(factories.staff(Role.ADMIN), MONDAY, MONDAY + dt.timedelta(days=6))
    assert {(d, h): n for d, row in enumerate(matrix) for h, n in enumerate(row) if n} == {
        (0, 9): 1, (0, 10): 1, (0, 15): 1}


def test_every_breakdown_adds_up_to_the_total():
    build_week()
    end = MONDAY + dt.timedelta(days=6)
    total = selectors.totals_by_metric("all", MONDAY, end)
    assert total["created"] == 3
    for dimension in services.DIMENSIONS:
        assert selectors.totals_by_metric(dimension, MONDAY, end) == total, dimension


def test_the_breakdowns_carry_the_values_of_the_moment():
    people = build_week()
    supervisor = factories.staff(Role.SUPERVISOR)
    by_team = selectors.breakdown(supervisor, "team", MONDAY, MONDAY + dt.timedelta(days=6))
    blue, green = str(people["blue"].pk), str(people["green"].pk)  # type: ignore[attr-defined]
    # C arrived in Blue and was transferred to Green afterwards: it arrived as Blue's.
    assert (by_team[blue].volume, by_team[blue].n("transferred")) == (3, 1)
    assert green not in by_team or by_team[green].volume == 0


def test_an_agent_reads_their_teams_figures_and_no_other_breakdown():
    people = build_week()
    agent, other = people["agent"], people["other"]
    assert isinstance(agent, User) and isinstance(other, User)
    assert selectors.figures(agent, MONDAY, MONDAY + dt.timedelta(days=6)).volume == 3
    assert selectors.figures(other, MONDAY, MONDAY + dt.timedelta(days=6)).volume == 0
    with pytest.raises(PermissionDenied):
        selectors.breakdown(agent, "channel", MONDAY, MONDAY)
    with pytest.raises(PermissionDenied):
        selectors.figures(factories.customer().user, MONDAY, MONDAY)


def test_the_roll_up_waits_for_events_a_few_seconds_old_and_reads_each_once():
    with frozen_at(at(0, 9)):
        factories.ticket()
        assert services.roll_up_all() == 0  # just written: a transaction may still be adding earlier events
        advance(dt.timedelta(seconds=10))
        read = services.roll_up_all()
        assert read >= 1 and services.roll_up_all() == 0
    assert selectors.figures(factories.staff(Role.ADMIN), MONDAY, MONDAY).volume == 1


def test_the_backlog_is_a_snapshot_of_what_is_not_yet_resolved_by_age_and_team():
    people = build_week()
    wednesday = MONDAY + dt.timedelta(days=2)
    with frozen_at(at(2, 23, 50)):
        assert services.snapshot_backlog() == 1  # C, opened on Monday 15:00 and still being worked on
        assert services.snapshot_backlog() == 1  # the day's second snapshot replaces the first
    supervisor = factories.staff(Role.SUPERVISOR)
    backlog = selectors.backlog(supervisor, wednesday + dt.timedelta(days=3))  # the latest snapshot
    assert (backlog.n("backlog"), backlog.n("backlog_age_b01")) == (1, 1)  # between one and three days old
    # C is Green's now; the backlog is counted where the tickets are at the snapshot.
    agent, other = people["agent"], people["other"]
    assert selectors.backlog(agent, wednesday).n("backlog") == 0
    assert selectors.backlog(other, wednesday).n("backlog") == 1
    # A level is not summed into the period's figures.
    assert selectors.figures(supervisor, MONDAY, wednesday).n("backlog") == 0
    assert selectors.backlog(supervisor, MONDAY).n("backlog") == 0


def test_repeat_contacts_and_second_complaints_are_judged_by_the_customers_earlier_tickets():
    from kefu.tickets.models import Category

    complaint = Category.objects.get(slug="complaint")
    agent = factories.staff(Role.AGENT)
    returning, once = factories.customer(language="en"), factories.customer(language="en")
    with frozen_at(at(0, 9)):
        first = factories.ticket(returning, category=complaint, subject="Rude courier")
        factories.ticket(once, category=complaint, subject="Late parcel")
        tickets.accept_ticket(first, actor=agent)
        go(at(0, 11))
        tickets.verify_fix(first, actor=agent)
        tickets.resolve_ticket(first, actor=agent)
        tickets.confirm_resolution(first, actor=returning.user)
        go(at(2, 10))
        factories.ticket(returning, category=complaint, subject="Rude courier again")
        go(at(2, 11))
    week = selectors.figures(factories.staff(Role.SUPERVISOR), MONDAY, MONDAY + dt.timedelta(days=6))
    assert (week.volume, week.n("repeat_contact"), week.n("complaints"), week.n("second_complaint")) == (3, 1, 3, 1)
    assert (week.repeat_contact_rate, week.second_complaint_rate) == (1 / 3, 1 / 3)


def test_the_handling_time_of_calls_is_their_talk_time():
    agent = factories.staff(Role.AGENT)
    with frozen_at(at(0, 9)):
        ticket = factories.worked_ticket(agent)
        for call_id, seconds in (("c1", 240), ("c2", 360)):
            tickets.log_call(ticket, call_id=call_id, phase="answered", caller="+8613800000000", agent=agent)
            tickets.log_call(ticket, call_id=call_id, phase="ended", caller="+8613800000000", agent=agent,
                             duration_s=seconds)
        tickets.log_call(ticket, call_id="c3", phase="ended", caller="+8613800000000")  # missed: no talk time
        go(at(0, 10))
    week = selectors.figures(factories.staff(Role.SUPERVISOR), MONDAY, MONDAY)
    assert (week.n("handled_call"), week.call_handling_mean) == (2, 300)


def test_sla_compliance_per_target_and_escalation_after_a_real_breach():
    """Two urgent tickets (first response due in 30 min): X answered after 10 and 20 min and resolved, Y never
    answered;
    the sweep breaches Y's clock at 30 min and, by the policy, moves Y to the escalation team."""
    from kefu.sla import services as sla
    from kefu.sla.models import SlaPolicy
    from kefu.tickets.models import Priority

    team, escalation_team = factories.department("Blue"), factories.department("Escalations")
    SlaPolicy.objects.filter(name="Urgent").update(breach_action=SlaPolicy.BreachAction.REASSIGN_TEAM,
                                                    breach_team=escalation_team)
    agent = factories.staff(Role.AGENT, teams=(team,))
    with frozen_at(at(0, 10)):
        x = factories.worked_ticket(agent, priority=Priority.URGENT, team=team, subject="Outage X")
        y = factories.worked_ticket(agent, priority=Priority.URGENT, team=team, subject="Outage Y")
        go(at(0, 10, 10))
        tickets.reply_to_customer(x, "Restarting the service now.", actor=agent)
        go(at(0, 10, 20))
        tickets.reply_to_customer(x, "The service is back; watching it for an hour.", actor=agent)
        go(at(0, 10, 30))
        sla.sweep(now())
        go(at(0, 11))
        tickets.verify_fix(x, actor=agent)
        tickets.resolve_ticket(x, actor=agent)
        go(at(0, 11, 1))
    y.refresh_from_db()
    assert y.team == escalation_team
    day = selectors.figures(factories.staff(Role.SUPERVISOR), MONDAY, MONDAY)
    assert (day.n("sla_met_first_response"), day.n("sla_breached_first_response")) == (1, 1)
    assert day.sla_compliance("first_response") == 0.5
    # X's second reply came within the four-hour update cadence its first reply started.
    assert (day.sla_decided("update"), day.sla_compliance("update")) == (1, 1.0)
    assert day.sla_compliance("resolution") is None  # the urgent policy promises no resolution time: "—", not 0 %
    assert (day.n("escalated"), day.escalation_rate) == (1, 0.5)
    # The breach counts where the ticket was when it happened (Blue), not where the escalation moved it.
    by_team = selectors.breakdown(factories.staff(Role.SUPERVISOR), "team", MONDAY, MONDAY)
    assert by_team[str(team.pk)].n("sla_breached_first_response") == 1


def test_the_handling_time_of_chats_runs_from_the_answer_to_the_end():
    from kefu.chat import services as chat
    from kefu.chat.models import ChatMessage

    agent = factories.staff(Role.AGENT)
    with frozen_at(at(0, 9)):
        handled, unanswered = (chat.start_chat(chat.PreChat(name=name)) for name in ("Handled", "Unanswered"))
        advance(dt.timedelta(minutes=2))  # two minutes in the queue: waiting is not handling
        chat.take_chat(handled, agent=agent)
        chat.post_message(handled, "Hello, how can I help?", side=ChatMessage.Author.AGENT, actor=agent)
        advance(dt.timedelta(minutes=7))
        chat.end_chat(handled, by=ChatMessage.Author.AGENT, actor=agent)
        chat.end_chat(unanswered, by=ChatMessage.Author.CUSTOMER)  # left before anyone answered
        go(at(0, 10))
        assert services.roll_up_all() == 0  # each chat is read once
    day = selectors.figures(factories.staff(Role.SUPERVISOR), MONDAY, MONDAY)
    assert (day.n("handled_chat"), day.chat_handling_mean) == (1, 7 * 60)
    mine = selectors.own_figures(agent, MONDAY, MONDAY)
    assert mine.n("handled_chat") == 1
