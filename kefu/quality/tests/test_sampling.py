"""The daily QA sample's arithmetic (pure): the share, the strata, the mandatory tickets, the seed."""

from __future__ import annotations

import math
import random
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.quality.sampling import RANDOM, Candidate, choose, quotas, share
from kefu.quality.scoring import NothingScored, Scored, verdict, weighted_total

REASONS = ("bad_score", "breached", "reopened", "escalated")

candidates_st = st.lists(
    st.builds(Candidate, ticket_id=st.integers(1, 10_000), agent_id=st.one_of(st.none(), st.integers(1, 6)),
              channel=st.sampled_from(["web", "email", "chat", "phone"]),
              mandatory=st.lists(st.sampled_from(REASONS), max_size=2, unique=True).map(tuple)),
    max_size=120, unique_by=lambda c: c.ticket_id)
rates_st = st.sampled_from(["0", "0.05", "0.1", "0.2", "0.25", "1/3", "0.5", "1"])


@settings(max_examples=150, deadline=None)
@given(candidates_st, rates_st, st.integers())
def test_the_share_is_the_rate_of_the_day_plus_mandatory_tickets_beyond_their_stratum(candidates, rate, seed):
    picks = choose(candidates, rate, seed)
    chosen = {p.ticket_id for p in picks}
    assert len(chosen) == len(picks)
    mandatory = {c.ticket_id for c in candidates if c.mandatory}
    assert mandatory <= chosen
    random_picks = [p for p in picks if p.reasons == (RANDOM,)]
    assert {p.ticket_id for p in random_picks}.isdisjoint(mandatory)
    # The day's share goes out by stratum; a stratum keeps all its mandatory tickets even beyond its quota.
    strata: dict[tuple[int | None, str], list[Candidate]] = {}
    for c in candidates:
        strata.setdefault((c.agent_id, c.channel), []).append(c)
    quota = quotas({k: len(v) for k, v in strata.items()}, rate, random.Random(str(seed)))
    assert sum(quota.values()) == share(rate, len(candidates))
    for key, members in strata.items():
        wanted = Fraction(rate) * len(members)
        assert quota[key] in {math.floor(wanted), math.floor(wanted) + 1}
        n_mandatory = sum(1 for c in members if c.mandatory)
        assert sum(1 for c in members if c.ticket_id in chosen) == max(quota[key], n_mandatory)


@settings(max_examples=80, deadline=None)
@given(candidates_st, rates_st, st.text(max_size=10))
def test_a_rerun_with_the_same_seed_picks_the_same_tickets(candidates, rate, seed):
    assert choose(candidates, rate, seed) == choose(list(reversed(candidates)), rate, seed)


@settings(max_examples=80, deadline=None)
@given(candidates_st, rates_st)
def test_every_mandatory_ticket_carries_its_reasons_in_precedence_order(candidates, rate):
    by_id = {c.ticket_id: c for c in candidates}
    for pick in choose(candidates, rate, "2026-03-02"):
        if by_id[pick.ticket_id].mandatory:
            assert set(pick.reasons) == set(by_id[pick.ticket_id].mandatory)
            assert list(pick.reasons) == sorted(pick.reasons, key=REASONS.index)


def test_twenty_percent_of_ten_agents_tickets_is_two_per_agent():
    candidates = [Candidate(n, agent_id=n % 2, channel="web") for n in range(20)]
    picks = choose(candidates, 0.2, "2026-03-02")
    assert len(picks) == 4
    assert Counter(p.ticket_id % 2 for p in picks) == {0: 2, 1: 2}


def test_largest_remainders_share_out_what_rounding_down_leaves():
    # 7 × 0.2 = 1.4 and 3 × 0.2 = 0.6 → 1 + 0 floors, one more owed (round(2.0) = 2): the 0.6 stratum gets it.
    assert quotas({"a": 7, "b": 3}, "0.2", random.Random(1)) == {"a": 1, "b": 1}


def test_different_days_draw_different_small_strata():
    candidates = [Candidate(n, agent_id=n, channel="web") for n in range(10)]  # ten strata of one
    days = {tuple(p.ticket_id for p in choose(candidates, 0.2, f"2026-03-{d:02d}")) for d in range(1, 15)}
    assert len(days) > 1
    assert all(len(day) == 2 for day in days)


def test_a_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        choose([Candidate(1, 1, "web")], 1.5, 1)


def test_weighted_total_leaves_out_criteria_that_do_not_apply():
    assert weighted_total([Scored(10, 5), Scored(30, 3), Scored(20, None)]) == pytest.approx(70)
    assert str(weighted_total([Scored(1, 4), Scored(2, 3)])) == "66.7"
    with pytest.raises(NothingScored):
        weighted_total([Scored(10, None), Scored(0, 5)])


def test_a_zero_on_a_critical_criterion_fails_a_review_above_the_mark():
    result = verdict([Scored(1, 5), Scored(1, 5), Scored(1, 5), Scored(1, 5), Scored(1, 0, critical=True)], 80)
    assert result.total == 80 and result.critical_zero and not result.passed
    assert verdict([Scored(1, 4)], 80).passed
