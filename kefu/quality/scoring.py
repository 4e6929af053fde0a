"""A review's weighted total and its verdict (pure logic, no Django).

total = Σ weight × score / (5 × Σ weight of the scored criteria), as a percentage; criteria marked
"not applicable" (score None) leave both sums. A review passes when the total reaches the pass mark
and no critical criterion scored zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MAX_SCORE = 5


@dataclass(frozen=True)
class Scored:
    weight: int
    score: int | None  # None: not applicable
    critical: bool = False


@dataclass(frozen=True)
class Verdict:
    total: Decimal  # percent, one decimal
    passed: bool
    critical_zero: bool


class NothingScored(ValueError):
    """No criterion with weight was scored: there is no total."""


def weighted_total(items: Iterable[Scored]) -> Decimal:
    scored = [item for item in items if item.score is not None]
    weights = sum(item.weight for item in scored)
    if weights == 0:
        raise NothingScored("no weighted criterion was scored")
    points = sum(item.weight * item.score for item in scored if item.score is not None)
    return (Decimal(points * 100) / Decimal(MAX_SCORE * weights)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def verdict(items: Iterable[Scored], pass_mark: int) -> Verdict:
    items = list(items)
    total = weighted_total(items)
    critical_zero = any(item.critical and item.score == 0 for item in items)
    return Verdict(total=total, passed=total >= pass_mark and not critical_zero, critical_zero=critical_zero)
