"""Which closed tickets quality assurance reviews (pure logic, no Django).

The day's closed tickets are split into strata by (agent, channel). The day's share is
``round(rate × N)`` (halves round up), divided between the strata by the largest-remainder method:
each stratum gets ``floor(rate × size)``, and the tickets still owed go to the strata with the
largest remainders; equal remainders are ordered by the seeded random generator, so small strata
(an agent with one chat ticket) take turns from one day to the next instead of the same one always
winning. There is no minimum per stratum: a floor of one per agent and channel would double a
20 % sample on a day with many small strata.

Mandatory tickets (bad score, breached, reopened, escalated) are always chosen and count towards
their stratum's share; a stratum with more mandatory tickets than its share keeps them all, so the
total is ``round(rate × N)`` plus those extra mandatory tickets. The rest of a stratum's share is
drawn at random with a generator seeded by the caller (the day), so a re-run picks the same tickets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

RANDOM = "random"
MANDATORY_REASONS = ("bad_score", "breached", "reopened", "escalated")
"""In order of precedence: a ticket's first reason in this order is the one shown first."""


@dataclass(frozen=True)
class Candidate:
    ticket_id: int
    agent_id: int | None
    channel: str
    mandatory: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pick:
    ticket_id: int
    reasons: tuple[str, ...]
    """The mandatory reasons in precedence order, or ``("random",)``."""

    @property
    def reason(self) -> str:
        return self.reasons[0]


def exact_rate(rate: float | str | Fraction) -> Fraction:
    """The rate as an exact fraction (0.2 is 1/5, not 0.2000000000000000111), checked to lie in [0, 1]."""
    value = Fraction(str(rate)) if isinstance(rate, float) else Fraction(rate)
    if not 0 <= value <= 1:
        raise ValueError(f"a sampling rate lies between 0 and 1, not {rate}")
    return value


def share(rate: float | str | Fraction, size: int) -> int:
    """round(rate × size), halves rounded up."""
    return math.floor(exact_rate(rate) * size + Fraction(1, 2))


def ordered_reasons(reasons: Sequence[str]) -> tuple[str, ...]:
    known = [r for r in MANDATORY_REASONS if r in reasons]
    return tuple(known + sorted(set(reasons) - set(MANDATORY_REASONS)))


def quotas(sizes: dict[Hashable, int], rate: float | str | Fraction, rng: random.Random) -> dict[Hashable, int]:
    """Each stratum's share of ``share(rate, Σ sizes)``, by the largest-remainder method."""
    exact = exact_rate(rate)
    wanted = {key: exact * size for key, size in sizes.items()}
    given = {key: math.floor(value) for key, value in wanted.items()}
    owed = share(exact, sum(sizes.values())) - sum(given.values())
    keys = sorted(sizes, key=repr)  # a stable order for the generator, whatever the keys are
    tie_break = {key: rng.random() for key in keys}
    for key in sorted(keys, key=lambda k: (-(wanted[k] - given[k]), tie_break[k]))[:owed]:
        given[key] += 1
    return given


def choose(candidates: Sequence[Candidate], rate: float | str | Fraction, seed: str | int) -> list[Pick]:
    """The tickets to review, in ticket-id order, each with why it was chosen."""
    rng = random.Random(str(seed))  # noqa: S311 -- a reproducible draw, not a secret
    strata: dict[tuple[int | None, str], list[Candidate]] = {}
    for candidate in sorted(candidates, key=lambda c: c.ticket_id):
        strata.setdefault((candidate.agent_id, candidate.channel), []).append(candidate)
    owed = quotas({key: len(members) for key, members in strata.items()}, rate, rng)
    picks: list[Pick] = []
    for key in sorted(strata, key=repr):
        members = strata[key]
        mandatory = [c for c in members if c.mandatory]
        rest = [c for c in members if not c.mandatory]
        drawn = rng.sample(rest, max(0, owed[key] - len(mandatory)))
        picks.extend(Pick(c.ticket_id, ordered_reasons(c.mandatory)) for c in mandatory)
        picks.extend(Pick(c.ticket_id, (RANDOM,)) for c in drawn)
    return sorted(picks, key=lambda p: p.ticket_id)
