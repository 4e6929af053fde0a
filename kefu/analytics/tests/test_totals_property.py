"""The dashboard's totals equal the sum of its breakdowns, and of its days, for any history (hypothesis).

Each example plays a few random ticket lives (channel, category, team, priority and tier drawn; then replies,
transfers, a message on another channel, calls, resolutions, objections, surveys, a breach sweep) on a frozen
clock, lets the roll-up catch up, and compares what the supervisor's dashboard would add up.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.accounts.models import Department, Role, User
from kefu.analytics import selectors, services
from kefu.core.clock import advance, frozen_at, now
from kefu.customers.models import Channel
from kefu.customers.services import set_customer_tier
from kefu.feedback import services as feedback
from kefu.notifications.models import Notification
from kefu.sla import services as sla
from kefu.testing import factories
from kefu.tickets import services as tickets
from kefu.tickets.models import Category, Priority, Ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=SHANGHAI)
# Lives start in the first week and may run on into the next; the roll-up catches up in the third.
PERIOD = (START.date(), START.date() + dt.timedelta(days=20))
CAUGHT_UP = START + dt.timedelta(days=20)
ACTIONS = ("reply", "transfer", "other_channel", "call", "resolve", "object", "survey", "wait")

lives = st.lists(st.fixed_dictionaries({
    "channel": st.sampled_from([Channel.WEB, Channel.EMAIL, Channel.PHONE, Channel.CHAT]),
    "category": st.integers(min_value=-1, max_value=3),  # -1: none
    "team": st.integers(min_value=-1, max_value=1),
    "priority": st.sampled_from(list(Priority.values)),
    "vip": st.booleans(),
    "start_hours": st.integers(min_value=0, max_value=5 * 24),
    "actions": st.lists(st.sampled_from(ACTIONS), max_size=6),
}), min_size=1, max_size=4)


class Cast:
    def __init__(self) -> None:
        self.teams = [factories.department(), factories.department()]
        self.agents = [factories.staff(Role.AGENT, teams=(team,)) for team in self.teams]
        self.supervisor = factories.staff(Role.SUPERVISOR)
        self.categories = list(Category.objects.order_by("pk")[:4])

    def team(self, index: int) -> Department | None:
        return self.teams[index] if index >= 0 else None

    def agent(self, team: Department | None) -> User:
        return self.agents[self.teams.index(team)] if team is not None else self.agents[0]


def live(cast: Cast, spec: dict, index: int) -> None:
    customer = factories.customer(language="en")
    if spec["vip"]:
        set_customer_tier(customer, "vip", actor=cast.supervisor)
    team = cast.team(spec["team"])
    category = cast.categories[spec["category"]] if spec["category"] >= 0 else None
    ticket = factories.ticket(customer, subject=f"Life {index}", channel=spec["channel"], category=category,
                              team=team, priority=spec["priority"])
    agent = cast.agent(team)
    tickets.accept_ticket(ticket, actor=agent)
    for step, action in enumerate(spec["actions"]):
        advance(dt.timedelta(minutes=37 * (step + 1)))
        ticket.refresh_from_db()
        act(cast, ticket, action, f"c{index}-{step}")


def act(cast: Cast, ticket: Ticket, action: str, call_id: str) -> None:
    agent = ticket.owner or cast.agents[0]
    working = ticket.status in {"open", "waiting_customer", "waiting_internal"}
    if action == "reply" and working:
        tickets.reply_to_customer(ticket, "Looking into it.", actor=agent)
    elif action == "transfer" and working:
        other = next(a for a in cast.agents if a != agent)
        tickets.transfer_ticket(ticket, actor=agent, to_agent=other, to_team=other.departments.first())
    elif action == "other_channel" and working:
        tickets.add_customer_message(ticket, "Any news?", actor=ticket.customer.user, channel=Channel.SMS)
    elif action == "call":
        tickets.log_call(ticket, call_id=call_id, phase="ended", caller="+8613800000000", agent=agent,
                         duration_s=95)
    elif action == "resolve" and working:
        tickets.verify_fix(ticket, actor=agent)
        tickets.resolve_ticket(ticket, actor=agent)
    elif action == "object" and ticket.status == "resolved":
        tickets.object_to_resolution(ticket, "Still broken", actor=ticket.customer.user)
    elif action == "survey" and ticket.status == "resolved":
        tickets.confirm_resolution(ticket, actor=ticket.customer.user)
        feedback.survey_ticket(ticket.pk)
        link = str(Notification.objects.filter(ticket_id=ticket.pk, template="survey").latest("pk")
                   .context["survey_url"])
        feedback.submit_survey(link.rstrip("/").rsplit("/", 1)[1], {
            "attitude": "4", "speed": "3", "solution": "5", "overall": "4", "nps": "9", "comment": ""})
    elif action == "wait":
        advance(dt.timedelta(hours=9))


def assert_totals_are_the_sums(supervisor: User) -> None:
    total = selectors.figures(supervisor, *PERIOD).counters
    assert total.get("created", (0, 0))[0] > 0
    for dimension in services.DIMENSIONS:
        summed = selectors.Figures()
        for figures in selectors.breakdown(supervisor, dimension, *PERIOD).values():
            for metric, (n, seconds) in figures.counters.items():
                summed.add(metric, n, seconds)
        assert _rounded(summed.counters) == _rounded(total), dimension
    by_day = selectors.Figures()
    for _day, figures in selectors.trend(supervisor, *PERIOD):
        for metric, (n, seconds) in figures.counters.items():
            by_day.add(metric, n, seconds)
    assert _rounded(by_day.counters) == _rounded(total)


def _rounded(counters: dict[str, tuple[int, float]]) -> dict[str, tuple[int, float]]:
    return {metric: (n, round(seconds, 3)) for metric, (n, seconds) in counters.items() if n or seconds}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(specs=lives)
def test_the_totals_equal_the_sums_of_the_breakdowns_and_of_the_days(specs: list[dict]) -> None:
    with transaction.atomic():  # each example starts from an empty help desk
        cast = Cast()
        for index, spec in enumerate(specs):
            with frozen_at(START + dt.timedelta(hours=spec["start_hours"])):
                live(cast, spec, index)
        with frozen_at(CAUGHT_UP):
            sla.sweep(now())  # whatever is overdue breaches (and may escalate to another team)
            advance(dt.timedelta(seconds=10))
            services.roll_up_all()
        assert selectors.figures(cast.supervisor, *PERIOD).volume == len(specs)
        assert_totals_are_the_sums(cast.supervisor)
        transaction.set_rollback(True)
