"""The agent console's ticket list and bulk actions, through HTTP."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.core.clock import frozen_at
from kefu.customers.models import Tier
from kefu.customers.services import set_customer_tier
from kefu.testing import factories
from kefu.tickets import services
from kefu.tickets.models import Priority, Ticket
from kefu.tickets.states import Status

pytestmark = [
    pytest.mark.django_db,
]

LIST = reverse("web:console_tickets")
BULK = reverse("web:console_bulk")


def _numbers(response) -> list[int]:
    return [int(n) for n in re.findall(r'name="ticket_ids" value="(\d+)"', response.content.decode())]


@pytest.fixture
def supervisor(client):
    user = factories.staff(Role.SUPERVISOR, name="Zhang Supervisor")
    client.force_login(user)
    return user


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


def test_customer_cannot_open_the_console_and_sees_not_found(client):
    customer = factories.customer()
    client.force_login(customer.user)
    assert client.get(LIST).status_code == 404
    assert client.get(reverse("web:console_customers")).status_code == 404


def test_list_shows_ticket_columns_and_vip_badge(client, supervisor):
    team = factories.department("Billing")
    agent = factories.staff(teams=(team,), name="Li Wei")
    vip = factories.customer("Wang Fang")
    set_customer_tier(vip, Tier.VIP, actor=supervisor)
    ticket = factories.ticket(vip, subject="Refund not received", team=team)
    services.assign_ticket(ticket, agent, actor=supervisor)
    page = client.get(LIST).content.decode()
    assert f"#{ticket.number}" in page
    assert "Refund not received" in page
    assert "Wang Fang" in page and 'class="badge vip"' in page
    assert "Li Wei" in page and "Billing" in page


def test_agent_sees_own_team_and_pool_but_not_other_teams_tickets(client):
    mine, other = factories.department(), factories.department()
    agent = factories.staff(teams=(mine,))
    own = factories.ticket(subject="Ours", team=mine)
    pool = factories.ticket(subject="Pool")
    foreign = factories.ticket(subject="Theirs", team=other)
    client.force_login(agent)
    shown = _numbers(client.get(LIST))
    assert own.pk in shown and pool.pk in shown
    assert foreign.pk not in shown


def test_empty_state_when_no_ticket_matches(client, supervisor):
    factories.ticket(subject="Printer jam")
    page = client.get(LIST, {"q": "nonexistentword"}).content.decode()
    assert "No tickets match these filters." in page


def test_search_finds_ticket_by_chinese_word_in_message(client, supervisor):
    hit = factories.ticket(subject="订单问题", description="我的快递一直没有发货，请帮忙查一下")
    miss = factories.ticket(subject="登录问题", description="密码错误")
    shown = _numbers(client.get(LIST, {"q": "发货"}))
    assert shown == [hit.pk]
    assert miss.pk not in shown


def test_search_finds_ticket_by_english_word_and_by_number(client, supervisor):
    hit = factories.ticket(subject="Invoice missing", description="Where is my invoice?")
    other = factories.ticket(subject="Password reset")
    assert _numbers(client.get(LIST, {"q": "invoice"})) == [hit.pk]
    assert _numbers(client.get(LIST, {"q": f"#{other.pk}"})) == [other.pk]


def test_filter_by_vip_tier(client, supervisor):
    vip = factories.customer()
    set_customer_tier(vip, Tier.VIP, actor=supervisor)
    vip_ticket = factories.ticket(vip)
    normal_ticket = factories.ticket()
    shown = _numbers(client.get(LIST, {"tier": "vip"}))
    assert vip_ticket.pk in shown and normal_ticket.pk not in shown


def test_filter_by_status_priority_and_owner_mine_and_unassigned(client, supervisor):
    mine = factories.worked_ticket(supervisor)
    services.update_ticket(mine, actor=supervisor, priority=Priority.URGENT)
    unassigned = factories.ticket()
    assert _numbers(client.get(LIST, {"owner": "mine"})) == [mine.pk]
    assert _numbers(client.get(LIST, {"owner": "unassigned"})) == [unassigned.pk]
    assert _numbers(client.get(LIST, {"status": Status.OPEN})) == [mine.pk]
    assert _numbers(client.get(LIST, {"priority": "urgent"})) == [mine.pk]
    assert _numbers(client.get(LIST, {"owner": str(supervisor.pk)})) == [mine.pk]


def test_filter_by_tag_and_team(client, supervisor):
    team = factories.department()
    tagged = factories.ticket(tags=["refund"], team=team)
    factories.ticket()
    assert _numbers(client.get(LIST, {"tag": "refund"})) == [tagged.pk]
    assert _numbers(client.get(LIST, {"team": str(team.pk)})) == [tagged.pk]


def test_created_dates_are_whole_days_in_the_users_time_zone(client, supervisor):
    # 2026-11-20 23:30 in Shanghai (the default zone) is still 15:30 UTC on the 20th;
    # 2026-11-21 00:30 in Shanghai is 16:30 UTC on the 20th but belongs to the 21st.
    with frozen_at(dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)):
        late_20th = factories.ticket(subject="Late on the 20th")
    with frozen_at(dt.datetime(2026, 11, 20, 16, 30, tzinfo=dt.UTC)):
        early_21st = factories.ticket(subject="Early on the 21st")
    assert _numbers(client.get(LIST, {"created_from": "2026-11-21"})) == [early_21st.pk]
    assert _numbers(client.get(LIST, {"created_to": "2026-11-20"})) == [late_20th.pk]
    both = _numbers(client.get(LIST, {"created_from": "2026-11-20", "created_to": "2026-11-21"}))
    assert sorted(both) == sorted([late_20th.pk, early_21st.pk])


def test_the_date_range_may_read_the_first_answer_or_the_resolution_instead_of_the_creation(client, supervisor):
    agent = factories.staff()
    with frozen_at(dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)):
        answered_later = factories.worked_ticket(agent, subject="Created the 16th")
        created_later = factories.worked_ticket(agent, subject="Created the 16th too")
    with frozen_at(dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)):
        services.reply_to_customer(answered_later, "Here is what we found.", actor=agent)
        services.verify_fix(answered_later, actor=agent)
        services.resolve_ticket(answered_later, actor=agent)
    the_18th = {"created_from": "2026-11-18", "created_to": "2026-11-18"}
    assert _numbers(client.get(LIST, the_18th)) == []
    assert _numbers(client.get(LIST, {**the_18th, "dated": "first_response"})) == [answered_later.pk]
    assert _numbers(client.get(LIST, {**the_18th, "dated": "resolved"})) == [answered_later.pk]
    assert created_later.pk in _numbers(client.get(LIST, {"created_from": "2026-11-16", "dated": "created"}))


def test_invalid_filter_value_shows_error_instead_of_crashing(client, supervisor):
    response = client.get(LIST, {"created_from": "not-a-date"})
    assert response.status_code == 200
    assert "<li>From: Enter a valid date.</li>" in response.content.decode()


def test_sort_oldest_first(client, supervisor):
    first, second = factories.ticket(), factories.ticket()
    assert _numbers(client.get(LIST, {"sort": "oldest"})) == [first.pk, second.pk]
    assert _numbers(client.get(LIST)) == [second.pk, first.pk]


def test_pagination_follows_cursor_without_repeats(client, supervisor):
    customer = factories.customer()
    created = [factories.ticket(customer, subject=f"Ticket {i}", priority=Priority.NORMAL).pk for i in range(30)]
    seen: list[int] = []
    url = LIST + "?priority=normal&sort=newest"
    pages = 0
    while url:
        response = client.get(url)
        page_numbers = _numbers(response)
        assert page_numbers, "a page link must not lead to an empty page"
        seen += page_numbers
        pages += 1
        match = re.search(r'href="([^"]+)" rel="next"', response.content.decode())
        url = LIST + match.group(1).replace("&amp;", "&") if match else ""
        if match:
            assert "priority=normal" in url, "the next link keeps the filters"
    assert pages == 2
    assert len(seen) == len(set(seen)) == 30
    assert sorted(seen) == sorted(created)


def test_tampered_cursor_shows_message(client, supervisor):
    factories.ticket()
    response = client.get(LIST, {"cursor": "!!!not-a-cursor"})
    assert response.status_code == 200
    assert "The page link is not valid any more." in response.content.decode()


def test_list_query_count_does_not_grow_with_rows(client, supervisor, activity_noted_once):
    team = factories.department()
    agent = factories.staff(teams=(team,))
    vip = factories.customer()
    set_customer_tier(vip, Tier.VIP, actor=supervisor)

    def make(n: int) -> None:
        for i in range(n):
            t = factories.ticket(vip if i % 2 else None, team=team, tags=["a", f"t{i}"])
            services.assign_ticket(t, agent, actor=supervisor)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    make(1)
    count()  # the session's first console page also records the agent's activity (once a minute)
    one = count()
    make(29)
    assert count() == one


def test_bulk_assign_changes_every_ticked_ticket(client, supervisor):
    agent = factories.staff(name="Chen Jing")
    tickets = [factories.ticket(), factories.ticket()]
    response = client.post(BULK, {"ticket_ids": [t.pk for t in tickets], "operation": "assign",
                                  "value": agent.pk})
    assert response.status_code == 302
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], owner=agent).count() == 2
    assert "2 tickets updated." in client.get(response["Location"]).content.decode()


def test_bulk_assign_is_all_or_nothing(client, supervisor):
    agent = factories.staff()
    open_ticket = factories.ticket()
    finished = factories.ticket()
    services.cancel_ticket(finished, actor=supervisor)
    response = client.post(BULK, {"ticket_ids": [open_ticket.pk, finished.pk], "operation": "assign",
                                  "value": agent.pk}, follow=True)
    page = response.content.decode()
    assert f"Ticket #{finished.number}" in page and "cannot be reassigned" in page
    open_ticket.refresh_from_db()
    assert open_ticket.owner_id is None


def test_bulk_priority_and_status(client, supervisor):
    tickets = [factories.ticket(), factories.ticket()]
    ids = [t.pk for t in tickets]
    client.post(BULK, {"ticket_ids": ids, "operation": "priority", "value": "high"})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("priority", flat=True)) == {"high"}
    client.post(BULK, {"ticket_ids": ids, "operation": "status", "value": "cancel"})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Status.CANCELLED}


def test_bulk_cannot_touch_tickets_the_agent_cannot_see(client):
    mine, other = factories.department(), factories.department()
    agent = factories.staff(teams=(mine,))
    visible = factories.ticket(team=mine)
    hidden = factories.ticket(team=other)
    client.force_login(agent)
    response = client.post(BULK, {"ticket_ids": [visible.pk, hidden.pk], "operation": "priority",
                                  "value": "urgent"}, follow=True)
    assert "Ticket not found." in response.content.decode()
    assert set(Ticket.objects.filter(pk__in=[visible.pk, hidden.pk]).values_list("priority", flat=True)) == {
        "normal"}


def test_bulk_without_ticked_tickets_explains(client, supervisor):
    response = client.post(BULK, {"operation": "priority", "value": "high"}, follow=True)
    assert "Tick at least one ticket." in response.content.decode()


def test_bulk_is_not_possible_with_get(client, supervisor):
    assert client.get(BULK).status_code == 405


def test_qa_reviewer_can_read_but_bulk_changes_are_refused(client):
    qa = factories.staff(Role.QA)
    ticket = factories.ticket()
    client.force_login(qa)
    assert ticket.pk in _numbers(client.get(LIST))
    response = client.post(BULK, {"ticket_ids": [ticket.pk], "operation": "priority", "value": "high"},
                           follow=True)
    assert "Your role cannot change tickets." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == "normal"
