"""The feedback loop with a moving clock: closure → survey → answers → follow-up of a bad score → outcome;
reminders, expiry, the per-customer limit; links that cannot be reused, guessed or moved to another ticket."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from kefu.accounts.models import Department, Role, User
from kefu.core.clock import advance, now
from kefu.feedback import services
from kefu.feedback.models import FollowUpTask, PanelMember, Survey, SurveyAnswer
from kefu.feedback.tests.support import ALL_FIVES, START, answered, closed_ticket, survey_link
from kefu.notifications.models import Notification, StaffAlert
from kefu.testing import factories
from kefu.tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

BAD = {"attitude": "4", "speed": "2", "solution": "3", "overall": "3", "nps": "5", "comment": "Took three days."}


def _events(ticket_id: int, prefix: str) -> list[str]:
    return list(TicketEvent.objects.filter(ticket_id=ticket_id, type__startswith=prefix)
                .order_by("pk").values_list("type", flat=True))


def _staff_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_closure_survey_bad_score_follow_up_and_outcome(clock: dt.datetime, agent: User, supervisor: User,
                                                         team: Department) -> None:
    ticket = closed_ticket(agent, team=team)
    advance(dt.timedelta(hours=1, minutes=59))
    assert services.send_due_surveys() == 0  # the customer first sees the fix work for a while

    advance(dt.timedelta(minutes=1))
    assert services.send_due_surveys() == 1
    assert services.send_due_surveys() == 0  # idempotent
    [message] = Notification.objects.filter(ticket_id=ticket.pk, template="survey")
    assert (message.recipient, message.channel, message.language) == (ticket.customer.email, "email", "en")
    survey = Survey.objects.get(ticket=ticket)
    assert survey.state == "sent" and not survey.late and survey.expires_at == now() + dt.timedelta(days=7)

    link = survey_link(ticket)
    page = Client().get(link)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert "How friendly and helpful was our staff?" in html and f"#{ticket.number}" in html
    assert html.count('type="radio" name="nps"') == 11 and html.count('type="radio" name="overall"') == 5

    advance(dt.timedelta(hours=20))
    response = Client().post(link, BAD)
    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.state, survey.bad, survey.thanked) == ("answered", True, False)
    answers = dict(SurveyAnswer.objects.filter(survey=survey).values_list("question__key", "score"))
    assert answers == {"attitude": 4, "speed": 2, "solution": 3, "overall": 3, "nps": 5, "comment": None}
    event = TicketEvent.objects.get(ticket=ticket, type="survey_answered")
    assert event.public is False and event.payload["bad"] is True and event.payload["nps"] == 5
    assert event.payload["scores"] == {"attitude": 4, "speed": 2, "solution": 3, "overall": 3}
    assert event.payload["comment"] == "Took three days."
    assert not Notification.objects.filter(template="survey_thanks").exists()

    task = FollowUpTask.objects.get(ticket=ticket)
    assert task.assignee == supervisor and task.state == "open"
    assert task.contact_due_at == now() + dt.timedelta(hours=1)
    assert task.callback_due_at == now() + dt.timedelta(hours=72)
    assert StaffAlert.objects.filter(user=supervisor, kind="followup_opened", ticket_id=ticket.pk).exists()

    boss = _staff_client(supervisor)
    listing = boss.get("/console/follow-ups/").content.decode()
    assert f"#{ticket.number}" in listing
    advance(dt.timedelta(minutes=40))
    boss.post(f"/console/follow-ups/{task.pk}/", {"action": "contact", "note": "Called, apologised."})
    advance(dt.timedelta(hours=30))
    boss.post(f"/console/follow-ups/{task.pk}/", {"action": "callback", "note": "Met by phone."})
    response = boss.post(f"/console/follow-ups/{task.pk}/", {
        "action": "close", "apology": "on", "remedy": "Refund of the fee", "compensation": "50 CNY voucher",
        "root_cause": "The refund queue was not watched at the weekend."})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == "closed" and task.apology and task.compensation == "50 CNY voucher"
    assert task.contacted_at == START + dt.timedelta(hours=22, minutes=40)
    assert "Called, apologised." in task.notes and "Met by phone." in task.notes
    assert _events(ticket.pk, "followup_") == ["followup_opened", "followup_contacted", "followup_callback",
                                               "followup_closed"]
    assert TicketEvent.objects.get(ticket=ticket, type="followup_contacted").payload["late"] is False
    assert f"#{ticket.number}" not in boss.get("/console/follow-ups/").content.decode()  # done: off the list

    ticket_page = boss.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Satisfaction survey" in ticket_page and "Took three days." in ticket_page
    assert "The refund queue was not watched at the weekend." in ticket_page
    # the timeline tells the story in sentences
    assert ("Survey answered: attitude 4, speed 2, solution 3, overall 3 · recommendation 5/10 · bad score"
            in ticket_page)
    assert "Follow-up of the bad score opened for Supervisor Li" in ticket_page
    assert "Follow-up closed; root cause: The refund queue was not watched at the weekend." in ticket_page


def test_a_used_link_changes_nothing_and_says_it_was_answered(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    survey = answered(ticket, BAD)
    link = survey_link(ticket)
    again = Client().post(link, ALL_FIVES)
    assert again.status_code == 302
    assert Client().get(link).content.decode().count("This survey has been answered.") == 1
    assert SurveyAnswer.objects.filter(survey=survey, question__key="overall").get().score == 3
    assert TicketEvent.objects.filter(ticket=ticket, type="survey_answered").count() == 1
    assert FollowUpTask.objects.filter(ticket=ticket).count() == 1


def test_links_cannot_be_guessed_nor_used_for_another_ticket(clock: dt.datetime, agent: User) -> None:
    first, second = closed_ticket(agent), closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    link = survey_link(first)
    token = link.split("/")[2]
    assert len(token) >= 40  # 256 random bits
    assert not Survey.objects.filter(token_digest=token).exists()  # only its SHA-256 is kept
    assert Client().get(f"/s/{token[:-1]}x/").status_code == 404
    assert Client().post(f"/s/{'A' * 43}/", ALL_FIVES).status_code == 404
    assert Client().get(f"/s/{token}/?ticket={second.pk}").content.decode().count(f"#{second.number}") == 0

    Client().post(link, ALL_FIVES)
    assert Survey.objects.get(ticket=first).state == "answered"
    assert Survey.objects.get(ticket=second).state == "sent"


def test_an_expired_link_says_so_and_records_nothing(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    link = survey_link(ticket)
    advance(dt.timedelta(days=7))
    page = Client().get(link)
    assert page.status_code == 410 and "This survey has expired" in page.content.decode()
    Client().post(link, ALL_FIVES)
    assert not SurveyAnswer.objects.exists()
    assert services.expire_surveys() == 1 and services.expire_surveys() == 0
    assert Survey.objects.get(ticket=ticket).state == "expired"
    assert _events(ticket.pk, "survey_") == ["survey_sent", "survey_expired"]


def test_one_reminder_only_and_its_link_opens_the_same_survey(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    advance(dt.timedelta(hours=47))
    assert services.remind_unanswered() == 0
    advance(dt.timedelta(hours=1))
    assert services.remind_unanswered() == 1
    advance(dt.timedelta(days=2))
    assert services.remind_unanswered() == 0
    assert Notification.objects.filter(ticket_id=ticket.pk, template="survey_reminder").count() == 1
    first, reminder = survey_link(ticket), survey_link(ticket, "survey_reminder")
    assert first != reminder
    assert Client().post(reminder, BAD).status_code == 302
    assert Survey.objects.get(ticket=ticket).state == "answered"
    assert "This survey has been answered." in Client().get(first).content.decode()
    assert _events(ticket.pk, "survey_") == ["survey_sent", "survey_reminded", "survey_answered"]


def test_an_answered_survey_gets_no_reminder(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, ALL_FIVES)
    advance(dt.timedelta(days=3))
    assert services.remind_unanswered() == 0


def test_a_customer_is_surveyed_at_most_once_in_the_limit(clock: dt.datetime, agent: User, settings) -> None:
    customer = factories.customer(language="en")
    first = closed_ticket(agent, customer_=customer)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    advance(dt.timedelta(days=10))
    second = closed_ticket(agent, customer_=customer)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    skipped = Survey.objects.get(ticket=second)
    assert (skipped.state, skipped.skip_reason) == ("skipped", "recent")
    assert Notification.objects.filter(template="survey").count() == 1
    assert Survey.objects.get(ticket=first).state == "sent"

    settings.KEFU = {**settings.KEFU, "SURVEY_MIN_DAYS_BETWEEN": 5}
    third = closed_ticket(agent, customer_=customer)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    assert Survey.objects.get(ticket=third).state == "sent"


def test_a_survey_sent_after_24_hours_still_goes_out_but_counts_late(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=30))  # the scheduler was down
    services.send_due_surveys()
    survey = Survey.objects.get(ticket=ticket)
    assert survey.state == "sent" and survey.late
    assert TicketEvent.objects.get(ticket=ticket, type="survey_sent").payload["late"] is True


def test_a_customer_we_cannot_reach_is_not_surveyed(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent, customer_=factories.customer(
        email="", language="en", identities=[("wechat", "wx-openid-1")]))
    advance(dt.timedelta(hours=2))
    assert services.send_due_surveys() == 0
    assert Survey.objects.get(ticket=ticket).skip_reason == "no_channel"
    assert not Notification.objects.filter(template="survey").exists()


def test_an_sms_customer_gets_the_survey_by_sms(clock: dt.datetime, agent: User) -> None:
    customer = factories.customer(email="", phone="13800138000", language="en")
    ticket = closed_ticket(agent, customer_=customer)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    [message] = Notification.objects.filter(template="survey")
    assert (message.channel, message.recipient) == ("sms", "13800138000")
    assert Survey.objects.get(ticket=ticket).channel == "sms"


def test_the_survey_speaks_the_customers_language(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent, customer_=factories.customer(language="zh-hans"))
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    assert Notification.objects.get(template="survey").language == "zh-hans"
    link = survey_link(ticket)
    html = Client().get(link, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "您对客服人员的服务态度是否满意？" in html and 'lang="zh-hans"' in html
    assert "How friendly and helpful was our staff?" in Client().get(link + "?lang=en").content.decode()


def test_a_missing_required_answer_is_explained_and_what_was_chosen_is_kept(clock: dt.datetime,
                                                                            agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    response = Client().post(survey_link(ticket), {**ALL_FIVES, "speed": "", "comment": "Kept comment"})
    html = response.content.decode()
    assert response.status_code == 400 and "Please answer:" in html and "the speed of our response" in html
    assert 'name="overall" value="5" required checked' in html and "Kept comment" in html
    assert Survey.objects.get(ticket=ticket).state == "sent" and not SurveyAnswer.objects.exists()
    bad = Client().post(survey_link(ticket), {**ALL_FIVES, "overall": "9"})
    assert bad.status_code == 400 and not SurveyAnswer.objects.exists()


def test_a_top_score_is_thanked_and_invited_to_the_panel(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    survey = answered(ticket, ALL_FIVES)
    assert survey.thanked and not survey.bad
    assert Notification.objects.filter(ticket_id=ticket.pk, template="survey_thanks").count() == 1
    assert not FollowUpTask.objects.exists()
    link = survey_link(ticket)
    page = Client().get(link).content.decode()
    assert "Join our service experience panel?" in page
    assert Client().post(link + "panel/").status_code == 302
    Client().post(link + "panel/")  # twice: still one membership
    assert PanelMember.objects.get().customer == ticket.customer
    assert "You are a member of our service experience panel." in Client().get(link).content.decode()


def test_a_middling_score_gets_neither_thanks_nor_follow_up(clock: dt.datetime, agent: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    survey = answered(ticket, {**ALL_FIVES, "overall": "4"})
    assert not survey.thanked and not survey.bad
    assert not Notification.objects.filter(template="survey_thanks").exists()
    assert Client().post(survey_link(ticket) + "panel/").status_code == 302
    assert not PanelMember.objects.exists()


def test_overdue_follow_ups_are_flagged_once_each_and_alerted(clock: dt.datetime, agent: User,
                                                              supervisor: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, BAD)
    advance(dt.timedelta(minutes=59))
    assert services.flag_overdue_followups() == 0
    advance(dt.timedelta(minutes=1))
    assert services.flag_overdue_followups() == 1
    assert services.flag_overdue_followups() == 0
    assert StaffAlert.objects.filter(user=supervisor, kind="followup_overdue").count() == 1
    listing = _staff_client(supervisor).get("/console/follow-ups/").content.decode()
    assert "overdue" in listing
    advance(dt.timedelta(hours=71))
    assert services.flag_overdue_followups() == 1
    stages = [e.payload["stage"] for e in TicketEvent.objects.filter(ticket=ticket, type="followup_overdue")]
    assert stages == ["contact", "callback"]


def test_the_follow_up_goes_to_any_supervisor_when_the_team_has_none(clock: dt.datetime, agent: User) -> None:
    other = factories.staff(Role.SUPERVISOR, teams=(factories.department("Other team"),))
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, BAD)
    assert FollowUpTask.objects.get(ticket=ticket).assignee == other


def test_an_outcome_needs_a_contact_and_a_root_cause(clock: dt.datetime, agent: User, supervisor: User) -> None:
    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    answered(ticket, BAD)
    task = FollowUpTask.objects.get()
    boss = _staff_client(supervisor)
    page = boss.post(f"/console/follow-ups/{task.pk}/", {"action": "close", "root_cause": "x"}, follow=True)
    assert "Record the contact with the customer before the outcome." in page.content.decode()
    boss.post(f"/console/follow-ups/{task.pk}/", {"action": "contact"})
    page = boss.post(f"/console/follow-ups/{task.pk}/", {"action": "close", "root_cause": " "}, follow=True)
    assert "Record the root cause before closing the follow-up." in page.content.decode()
    task.refresh_from_db()
    assert task.state == "contacted"


def test_the_messages_render_with_the_link_in_the_customers_language(clock: dt.datetime, agent: User) -> None:
    from kefu.notifications.services import render_notification

    ticket = closed_ticket(agent)
    advance(dt.timedelta(hours=2))
    services.send_due_surveys()
    advance(dt.timedelta(hours=48))
    services.remind_unanswered()
    survey, reminder = (Notification.objects.get(template=name) for name in ("survey", "survey_reminder"))
    subject, body = render_notification(survey)
    assert subject == f"[#{ticket.number}] How did we do?"
    assert str(survey.context["survey_url"]) in body and "for 7 days" in body
    subject, body = render_notification(reminder)
    assert "only reminder" in body and str(reminder.context["survey_url"]) in body
