"""The routing strategies and their guarantees, as pure functions (no database)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as hs

from kefu.routing import strategies as st
from kefu.routing.strategies import AgentState, Strategy, WorkItem

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def item(n: int, *, priority: str = "normal", tier: str = "standard", due_min: int | None = None,
         skills: dict[str, int] | None = None, team: int | None = 1, language: str = "", **kw: object) -> WorkItem:
    return WorkItem(ticket_id=n, queue_id=1, team_id=team, priority=priority, tier=tier,
                    enqueued_at=T0 + dt.timedelta(seconds=n), due_at=T0 + dt.timedelta(minutes=due_min)
                    if due_min is not None else None, required_skills=skills or {}, language=language, **kw)  # type: ignore[arg-type]


def agent(n: int, *, load: int = 0, capacity: int = 5, skills: dict[str, int] | None = None,
          last: int | None = None, teams: frozenset[int] = frozenset({1}), **kw: object) -> AgentState:
    return AgentState(agent_id=n, teams=teams, capacity=capacity, load=load, skills=skills or {},
                      last_assigned_at=T0 - dt.timedelta(minutes=last) if last is not None else None, **kw)  # type: ignore[arg-type]


def test_service_order_puts_urgent_and_vip_first_then_nearest_deadline() -> None:
    standard_late = item(1, due_min=120)
    standard_soon = item(2, due_min=30)
    vip = item(3, tier="vip", due_min=240)
    urgent = item(4, priority="urgent", due_min=600)
    high = item(5, priority="high", due_min=500)
    order = [i.ticket_id for i in st.service_order([standard_late, standard_soon, vip, urgent, high])]
    assert order == [4, 3, 5, 2, 1]


def test_vip_before_standard_at_equal_urgency_even_with_a_later_deadline() -> None:
    standard = item(1, priority="high", due_min=10)
    vip = item(2, priority="high", tier="vip", due_min=50)
    assert [i.ticket_id for i in st.service_order([standard, vip])] == [2, 1]


def test_eligibility_checks_presence_capacity_team_skills_language_and_exclusion() -> None:
    work = item(1, skills={"refunds": 3}, language="en-US", excluded_agent_id=9)
    ok = agent(1, skills={"refunds": 4}, languages=frozenset({"en", "zh"}))
    assert st.is_eligible(ok, work)
    assert not st.is_eligible(agent(2, skills={"refunds": 2}), work)  # level too low
    assert not st.is_eligible(agent(3, skills={"refunds": 5}, load=5), work)  # full
    assert not st.is_eligible(agent(4, skills={"refunds": 5}, available=False), work)  # away
    assert not st.is_eligible(agent(5, skills={"refunds": 5}, teams=frozenset({2})), work)  # other team
    assert not st.is_eligible(agent(6, skills={"refunds": 5}, languages=frozenset({"zh"})), work)
    assert st.is_eligible(agent(7, skills={"refunds": 5}), work)  # lists no languages: any
    assert not st.is_eligible(agent(9, skills={"refunds": 5}), work)  # the agent whose clock broke


def test_round_robin_takes_whoever_waited_longest_never_assigned_first() -> None:
    agents = [agent(1, last=5), agent(2, last=50), agent(3)]
    assert st.choose_agent(item(1), agents, Strategy.ROUND_ROBIN, T0).agent_id == 3  # type: ignore[union-attr]
    agents[2].last_assigned_at = T0
    assert st.choose_agent(item(1), agents, Strategy.ROUND_ROBIN, T0).agent_id == 2  # type: ignore[union-attr]


def test_least_loaded_compares_shares_of_capacity() -> None:
    agents = [agent(1, load=2, capacity=4), agent(2, load=3, capacity=10),
              agent(3, load=0, capacity=1, available=False)]
    choice = st.choose_agent(item(1), agents, Strategy.LEAST_LOADED, T0)
    assert choice is not None and choice.agent_id == 2 and (choice.load, choice.capacity) == (3, 10)


def test_best_skill_weighs_skill_against_load_and_records_the_score() -> None:
    work = item(1, skills={"billing": 2})
    expert_busy = agent(1, skills={"billing": 5}, load=4, capacity=5, last=60)
    good_free = agent(2, skills={"billing": 3}, load=0, capacity=5, last=60)
    choice = st.choose_agent(work, [expert_busy, good_free], Strategy.BEST_SKILL, T0)
    assert choice is not None and choice.agent_id == 2
    assert choice.score == st.skill_score(good_free, work, T0) == 1.5
    assert st.describe(choice) == {"strategy": "best_skill", "load": "0/5", "score": 1.5}
    # With equal load, the higher level wins.
    expert_busy.load = 0
    assert st.choose_agent(work, [expert_busy, good_free], Strategy.BEST_SKILL, T0).agent_id == 1  # type: ignore[union-attr]


def test_sticky_returns_a_customer_to_their_agent_when_eligible_else_best_skill() -> None:
    agents = [agent(1, last=100), agent(2, last=1)]
    choice = st.choose_agent(item(1, previous_agent_id=2), agents, Strategy.STICKY, T0)
    assert choice is not None and choice.agent_id == 2 and choice.sticky
    agents[1].load = agents[1].capacity
    choice = st.choose_agent(item(1, previous_agent_id=2), agents, Strategy.STICKY, T0)
    assert choice is not None and choice.agent_id == 1 and not choice.sticky
    assert st.describe(choice)["strategy"] == "best_skill"  # the timeline says what really chose


def test_no_eligible_agent_means_no_choice() -> None:
    assert st.choose_agent(item(1, skills={"x": 1}), [agent(1)], Strategy.BEST_SKILL, T0) is None


def test_next_for_agent_skips_what_the_agent_may_not_take() -> None:
    me = agent(1, skills={"en": 3})
    waiting = [item(1, priority="urgent", skills={"de": 1}), item(2, skills={"en": 2}), item(3, tier="vip")]
    assert st.next_for_agent(me, waiting).ticket_id == 3  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- properties


skill_names = hs.sampled_from(["billing", "tech", "refunds"])
items_strategy = hs.lists(hs.builds(
    lambda n, pr, tier, due, skills, team: item(n, priority=pr, tier=tier, due_min=due, skills=skills, team=team),
    hs.integers(0, 10_000), hs.sampled_from(["urgent", "high", "normal", "low"]),
    hs.sampled_from(["standard", "vip", "core"]), hs.one_of(hs.none(), hs.integers(0, 600)),
    hs.dictionaries(skill_names, hs.integers(1, 5), max_size=2), hs.sampled_from([1, 2])),
    max_size=60, unique_by=lambda i: i.ticket_id)
agents_strategy = hs.lists(hs.builds(
    lambda n, load, cap, skills, teams, available: agent(n, load=min(load, cap), capacity=cap, skills=skills,
                                                        teams=teams, available=available),
    hs.integers(1, 1000), hs.integers(0, 6), hs.integers(0, 6), hs.dictionaries(skill_names, hs.integers(1, 5)),
    hs.sampled_from([frozenset({1}), frozenset({2}), frozenset({1, 2})]), hs.booleans()),
    max_size=12, unique_by=lambda a: a.agent_id)


@settings(max_examples=300, deadline=None)
@given(items_strategy, agents_strategy, hs.sampled_from(list(Strategy)))
def test_batch_never_overloads_and_leaves_no_eligible_item_waiting_beside_an_idle_agent(
        items: list[WorkItem], agents: list[AgentState], strategy: Strategy) -> None:
    capacity = {a.agent_id: a.capacity for a in agents}
    before = {a.agent_id: a.load for a in agents}
    decisions = st.assign_batch(items, agents, {1: strategy}, T0)
    given_to = Counter(choice.agent_id for _, choice in decisions)
    assert len({i.ticket_id for i, _ in decisions}) == len(decisions)  # one agent per ticket
    for a in agents:
        assert a.load == before[a.agent_id] + given_to[a.agent_id] <= max(capacity[a.agent_id], before[a.agent_id])
    assigned = {i.ticket_id for i, _ in decisions}
    for left in (i for i in items if i.ticket_id not in assigned):
        assert not any(st.is_eligible(a, left) for a in agents), "an eligible agent with room stayed idle"
    for work, choice in decisions:
        assert st.is_eligible(AgentState(**{**vars(next(a for a in agents if a.agent_id == choice.agent_id)),
                                            "load": 0, "capacity": 1}), work)


@settings(max_examples=200, deadline=None)
@given(items_strategy, agents_strategy)
def test_within_a_batch_vip_is_served_before_standard_at_equal_urgency(items: list[WorkItem],
                                                                     agents: list[AgentState]) -> None:
    decisions = st.assign_batch(items, agents, {1: Strategy.BEST_SKILL}, T0)
    order = [i.ticket_id for i, _ in decisions]
    served = {i.ticket_id: n for n, i in enumerate(i for i, _ in decisions)}
    for vip in (i for i in items if i.tier == "vip" and i.ticket_id in served):
        for std in (i for i in items if i.tier == "standard" and i.priority == vip.priority
                    and i.ticket_id in served):
            assert served[vip.ticket_id] < served[std.ticket_id], order


def test_round_robin_is_fair_over_a_long_run() -> None:
    agents = [agent(n, capacity=1_000_000) for n in range(1, 8)]
    moment = T0
    counts: Counter[int] = Counter()
    for n in range(7 * 1000 + 3):
        moment += dt.timedelta(seconds=1)
        choice = st.choose_agent(item(n), agents, Strategy.ROUND_ROBIN, moment)
        assert choice is not None
        st.take(next(a for a in agents if a.agent_id == choice.agent_id), moment)
        counts[choice.agent_id] += 1
    assert max(counts.values()) - min(counts.values()) <= 1
