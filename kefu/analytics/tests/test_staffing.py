"""The staffing planner (pure): published Erlang C results, the planner's promises, and the week plan."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.analytics.staffing import (
    HOURS_PER_WEEK,
    ChannelWeek,
    HourDemand,
    ImpossibleTarget,
    ServiceTarget,
    StaffingError,
    agents_needed,
    average_speed_of_answer,
    erlang_c,
    occupancy,
    plan_week,
    productive_agents,
    scheduled_agents,
    service_level,
    traffic_erlangs,
)


def exact_erlang_c(traffic: Fraction, agents: int) -> Fraction:
    """The textbook formula, A^N/N! · N/(N−A) over Σ_{k<N} A^k/k! + the same, in exact rationals.

    An independent oracle for the recursion the module uses; only usable where exact arithmetic is affordable.
    """
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    return top / (sum(traffic**k / math.factorial(k) for k in range(agents)) + top)


# --- published reference values ----------------------------------------------------------------------------

# The worked example of Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example"
# (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm): 100 calls per 30 minutes, AHT 180 s,
# 80 % answered within 20 s, maximum occupancy 85 %, shrinkage 30 %. The results below, to four decimals, are
# those pyworkforce publishes for exactly these inputs in its README
# (https://github.com/rodrigo-arenas/pyworkforce, "Erlang C — infinite patience" and the service-level sweep):
# 14 raw positions, 20 positions, service level 0.8884, occupancy 0.7143, waiting probability 0.1741;
# and 20, 20, 22 positions for targets of 80 %, 85 % and 90 %.


def test_call_centre_example_needs_fourteen_agents_and_twenty_on_the_roster():
    required = agents_needed(200, 180, 0.80, 20, max_occupancy=0.85)
    assert traffic_erlangs(200, 180) == 10
    assert required == 14
    assert scheduled_agents(required, 0.3) == 20
    assert round(service_level(200, 180, 14, 20), 4) == 0.8884
    assert round(occupancy(200, 180, 14), 4) == 0.7143
    assert round(erlang_c(10, 14), 4) == 0.1741
    # Thirteen agents fall short, which is why the example stops at fourteen.
    assert service_level(200, 180, 13, 20) < 0.80


@pytest.mark.parametrize(("target", "roster"), [(0.80, 20), (0.85, 20), (0.90, 22)])
def test_call_centre_example_roster_for_each_published_target(target, roster):
    assert scheduled_agents(agents_needed(200, 180, target, 20, max_occupancy=0.85), 0.3) == roster


def test_a_roster_of_twenty_at_thirty_percent_shrinkage_achieves_the_published_service_level():
    assert productive_agents(20, 0.3) == 14
    assert round(service_level(200, 180, productive_agents(20, 0.3), 20), 4) == 0.8884


# J. Dunlop, D. Girma, J. Irvine, "Digital Mobile Communications and the TETRA System" (Wiley, 1999),
# appendix A.4 "Erlang C table (for blocked-calls-queued)", p. 424, worked example: 8 channels with at most 5 %
# of calls delayed carry A = 3.87 erlangs (from the table); cutting delayed calls to 1 % or less at about that
# traffic takes 10 channels (table: A = 4.08 for 10 channels at 1 %); of the delayed calls, the share waiting
# longer than one mean holding time is 0.016 with 8 channels and 0.0022 with 10.


def traffic_at_delay_probability(agents: int, delay_probability: float) -> float:
    """The traffic at which ``agents`` delay ``delay_probability`` of calls, as an Erlang C table lists it."""
    low, high = 0.0, float(agents)
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if erlang_c(middle, agents) < delay_probability else (low, middle)
    return low


def test_erlang_c_table_traffic_per_channel_count():
    assert round(traffic_at_delay_probability(8, 0.05), 2) == 3.87
    assert round(traffic_at_delay_probability(10, 0.01), 2) == 4.08


def test_tetra_example_two_more_channels_cut_delayed_calls_to_one_percent():
    # "Answered within 0 seconds" is "not delayed": 99 % of calls without delay means Erlang C ≤ 1 %.
    holding_time = 3600.0
    arrivals = 3.87  # per hour, so that the traffic is 3.87 erlangs
    assert agents_needed(arrivals, holding_time, 0.99, 0) == 10


@pytest.mark.parametrize(("channels", "decimals", "published"), [(8, 3, 0.016), (10, 4, 0.0022)])
def test_tetra_example_share_of_delayed_calls_waiting_beyond_the_holding_time(channels, decimals, published):
    holding_time = 3600.0
    late = 1 - service_level(3.87, holding_time, channels, holding_time)
    assert round(late / erlang_c(3.87, channels), decimals) == published


# Mitan Ltd, "The Erlang-C formula" (http://www.mitan.co.uk/erlang/elgcmath.htm, archived at
# https://web.archive.org/web/20181209042241/http://www.mitan.co.uk/erlang/elgcmath.htm): 360 calls per half
# hour, 240 s average call duration, 55 agents, 15 s target answer time; worked through traffic intensity 48,
# occupancy 0.873, probability of waiting 0.239, ASA 8.2 s and 84.6 % answered within 15 s. (The inputs were
# re-read from a copy of the page on 2026-12-03; its results were not, and are the page's as we remember them —
# they agree with the exact-arithmetic check of erlang_c below.)


def test_mitan_worked_example():
    assert traffic_erlangs(720, 240) == 48
    assert round(occupancy(720, 240, 55), 3) == 0.873
    assert round(erlang_c(48, 55), 3) == 0.239
    assert round(average_speed_of_answer(720, 240, 55), 1) == 8.2
    assert round(service_level(720, 240, 55, 15), 3) == 0.846


# --- the numbers stay right where factorials would overflow -------------------------------------------------


def test_erlang_c_agrees_with_exact_arithmetic_for_a_thousand_agents():
    # 1000! / 950^1000 overflow a float; the recursion does not need them.
    assert erlang_c(950, 1000) == pytest.approx(float(exact_erlang_c(Fraction(950), 1000)), rel=1e-9)


def test_a_very_large_centre_is_planned_without_overflow():
    required = agents_needed(240_000, 300, 0.8, 20)  # 20 000 erlangs
    assert 20_000 < required < 20_100
    assert service_level(240_000, 300, required, 20) >= 0.8
    assert service_level(240_000, 300, required - 1, 20) < 0.8


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4000).map(lambda hundredths: Fraction(hundredths, 100)), st.integers(1, 60))
def test_erlang_c_agrees_with_the_textbook_formula(traffic, agents):
    if agents <= traffic:
        assert erlang_c(float(traffic), agents) == 1.0
    else:
        assert erlang_c(float(traffic), agents) == pytest.approx(float(exact_erlang_c(traffic, agents)), abs=1e-12)


# --- properties ---------------------------------------------------------------------------------------------

arrivals_st = st.floats(0.5, 5000, allow_nan=False)
aht_st = st.floats(5, 3600, allow_nan=False)
target_seconds_st = st.floats(0, 7200, allow_nan=False)
fraction_st = st.floats(0, 0.999, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 3000, allow_nan=False), st.integers(0, 3200))
def test_the_probability_of_waiting_is_a_probability(traffic, agents):
    assert 0 <= erlang_c(traffic, agents) <= 1


@settings(max_examples=200, deadline=None)
@given(arrivals_st, aht_st, target_seconds_st, st.integers(0, 300))
def test_service_level_never_drops_when_an_agent_is_added(arrivals, aht, target, agents):
    fewer = service_level(arrivals, aht, agents, target)
    more = service_level(arrivals, aht, agents + 1, target)
    assert 0 <= fewer <= more <= 1
    assert average_speed_of_answer(arrivals, aht, agents + 1) <= average_speed_of_answer(arrivals, aht, agents)


@settings(max_examples=200, deadline=None)
@given(arrivals_st, aht_st, fraction_st, target_seconds_st, st.one_of(st.none(), st.floats(0.5, 1)))
def test_agents_needed_is_the_fewest_that_meet_the_target(arrivals, aht, fraction, target, max_occupancy):
    required = agents_needed(arrivals, aht, fraction, target, max_occupancy)
    traffic = traffic_erlangs(arrivals, aht)

    def meets(agents: int) -> bool:
        within_ceiling = max_occupancy is None or occupancy(arrivals, aht, agents) <= max_occupancy
        return agents > traffic and within_ceiling and service_level(arrivals, aht, agents, target) >= fraction

    assert meets(required)
    assert not meets(required - 1)


shrinkage_st = st.integers(0, 99).map(lambda percent: Fraction(percent, 100))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5000), shrinkage_st)
def test_the_scheduled_roster_is_the_smallest_that_leaves_the_required_agents(required, shrinkage):
    scheduled = scheduled_agents(required, shrinkage)
    assert productive_agents(scheduled, shrinkage) >= required
    assert scheduled == 0 or productive_agents(scheduled - 1, shrinkage) < required


def test_shrinkage_given_as_a_decimal_is_not_rounded_up_by_floating_point():
    # 14 / (1 - 0.3) is 20.000000000000004 in floating point.
    assert scheduled_agents(14, 0.3) == 20
    assert scheduled_agents(7, "0.3") == 10


# --- what users hit at the edges ----------------------------------------------------------------------------


def test_an_hour_without_contacts_needs_nobody():
    assert agents_needed(0, 300, 0.8, 20) == 0
    assert scheduled_agents(0, 0.3) == 0
    assert service_level(0, 300, 0, 20) == 1.0
    assert average_speed_of_answer(0, 300, 0) == 0.0
    assert occupancy(0, 300, 0) == 0.0


def test_contacts_that_take_no_time_still_need_someone_to_answer():
    assert agents_needed(50, 0, 0.8, 20) == 1
    assert service_level(50, 0, 1, 20) == 1.0
    assert service_level(50, 0, 0, 20) == 0.0


def test_a_roster_that_cannot_keep_up_answers_nobody_in_time():
    assert erlang_c(10, 10) == 1.0
    assert service_level(200, 180, 10, 20) == 0.0
    assert average_speed_of_answer(200, 180, 9) == math.inf
    assert occupancy(200, 180, 9) == 1.0
    assert occupancy(200, 180, 0) == 1.0


def test_a_target_of_zero_seconds_is_the_share_answered_without_waiting():
    assert service_level(200, 180, 14, 0) == pytest.approx(1 - erlang_c(10, 14))


def test_a_hundred_percent_target_is_impossible_and_says_why():
    with pytest.raises(ImpossibleTarget, match="100 %"):
        agents_needed(200, 180, 1.0, 20)
    with pytest.raises(ImpossibleTarget, match="100 %"):
        agents_needed(200, 180, 1.0, 0)


@pytest.mark.parametrize("shrinkage", [1, 1.5, -0.1, "abc"])
def test_shrinkage_outside_zero_to_one_is_refused(shrinkage):
    with pytest.raises(StaffingError, match="shrinkage"):
        scheduled_agents(14, shrinkage)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: agents_needed(-1, 180, 0.8, 20), "arrivals"),
        (lambda: agents_needed(200, math.nan, 0.8, 20), "handling time"),
        (lambda: agents_needed(200, 180, 1.2, 20), "between 0 and 1"),
        (lambda: agents_needed(200, 180, 0.8, -5), "target answer time"),
        (lambda: agents_needed(200, 180, 0.8, 20, max_occupancy=0), "maximum occupancy"),
        (lambda: service_level(200, 180, -1, 20), "agents"),
    ],
)
def test_inputs_out_of_range_are_refused_with_a_clear_message(call, message):
    with pytest.raises(StaffingError, match=message):
        call()


# --- the week plan ------------------------------------------------------------------------------------------


def office_hours_demand(busy: HourDemand) -> list[HourDemand]:
    """``busy`` on weekdays 09:00–18:00, nothing otherwise."""
    quiet = HourDemand(0, busy.aht_seconds)
    return [busy if slot // 24 < 5 and 9 <= slot % 24 < 18 else quiet for slot in range(HOURS_PER_WEEK)]


CHAT = ServiceTarget(fraction=0.80, seconds=20)  # the call-centre example's 80/20, so its figures carry over
EMAIL = ServiceTarget(fraction=0.90, seconds=2 * 3600)


def test_the_week_plan_recommends_agents_per_hour_and_channel():
    chat = ChannelWeek("chat", CHAT, office_hours_demand(HourDemand(200, 180)))
    email = ChannelWeek("email", EMAIL, office_hours_demand(HourDemand(30, 600)))
    plan = plan_week([chat, email], shrinkage=0.3)

    chat_plan, email_plan = plan.channels
    monday_ten = chat_plan.hours[10]
    assert (monday_ten.required_agents, monday_ten.scheduled_agents) == (14, 20)
    assert chat_plan.hours[3].scheduled_agents == 0  # 03:00, no chats
    assert chat_plan.scheduled_agent_hours == 20 * 9 * 5
    assert email_plan.hours[10].required_agents == 6  # 5 erlangs; a 2-hour target leaves little to add
    assert chat_plan.roster_service_level is None
    assert monday_ten.roster is None and monday_ten.roster_gap is None


def test_rostering_the_recommendation_meets_the_target_every_hour():
    demand = [HourDemand(arrivals_per_hour=(slot * 37) % 250, aht_seconds=120 + slot) for slot in range(HOURS_PER_WEEK)]
    first = plan_week([ChannelWeek("chat", CHAT, demand)], shrinkage="0.35", max_occupancy=0.9)
    roster = [hour.scheduled_agents for hour in first.channels[0].hours]
    second = plan_week([ChannelWeek("chat", CHAT, demand, roster=roster)], shrinkage="0.35", max_occupancy=0.9)

    hours = second.channels[0].hours
    assert all(hour.roster is not None and hour.roster.meets_target for hour in hours)
    assert all(hour.roster_gap == 0 for hour in hours)
    assert second.channels[0].hours_short_of_target == ()
    assert second.channels[0].roster_service_level is not None
    assert second.channels[0].roster_service_level >= CHAT.fraction


def test_the_current_roster_shows_what_it_would_achieve_and_where_it_falls_short():
    demand = office_hours_demand(HourDemand(200, 180))
    roster = [20 if hour.arrivals_per_hour else 0 for hour in demand]
    roster[10] = 15  # Monday 10:00 one short-handed team: 10 productive agents for 10 erlangs
    roster[11] = 18  # 12 productive: short of the 14 required
    plan = plan_week([ChannelWeek("chat", CHAT, demand, roster=roster)], shrinkage=0.3).channels[0]

    swamped, short, staffed = plan.hours[10].roster, plan.hours[11].roster, plan.hours[12].roster
    assert swamped is not None and short is not None and staffed is not None
    assert (swamped.productive, swamped.service_level, swamped.average_speed_of_answer) == (10, 0.0, math.inf)
    assert short.productive == 12 and not short.meets_target and 0 < short.service_level < 0.8
    assert staffed.meets_target and round(staffed.service_level, 4) == 0.8884
    assert round(staffed.occupancy, 4) == 0.7143 and round(staffed.average_speed_of_answer, 1) == 7.8
    assert (plan.hours[10].roster_gap, plan.hours[11].roster_gap, plan.hours[12].roster_gap) == (5, 2, 0)
    assert plan.hours_short_of_target == (10, 11)
    # Hours without contacts weigh nothing; the two bad hours pull the week below the target.
    assert plan.roster_service_level is not None
    assert plan.roster_service_level < 0.8884
    assert plan.roster_service_level == pytest.approx((43 * 0.88835 + 0 + short.service_level) / 45, abs=1e-4)


def test_an_impossible_target_names_the_channel_and_the_hour():
    demand = office_hours_demand(HourDemand(200, 180))
    with pytest.raises(ImpossibleTarget, match=r"channel 'phone', hour 9 of the week: .*100 %"):
        plan_week([ChannelWeek("phone", ServiceTarget(1.0, 20), demand)], shrinkage=0.3)


def test_a_week_plan_refuses_the_wrong_number_of_hours_and_bad_shrinkage():
    with pytest.raises(StaffingError, match="168"):
        ChannelWeek("chat", CHAT, [HourDemand(10, 60)] * 24)
    with pytest.raises(StaffingError, match="roster"):
        ChannelWeek("chat", CHAT, [HourDemand(10, 60)] * HOURS_PER_WEEK, roster=[1] * 167)
    with pytest.raises(StaffingError, match="rostered"):
        ChannelWeek("chat", CHAT, [HourDemand(10, 60)] * HOURS_PER_WEEK, roster=[-1] * HOURS_PER_WEEK)
    with pytest.raises(StaffingError, match="shrinkage"):
        plan_week([], shrinkage=1.0)
    with pytest.raises(StaffingError, match="between 0 and 1"):
        ServiceTarget(fraction=80, seconds=30)
