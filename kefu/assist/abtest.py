"""Comparing two variants of a reply template (pure logic, no Django).

The outcome compared is a proportion: of the tickets a variant was used on, how many were resolved and
not reopened. Two variants are compared with the two-proportion z-test (pooled standard error); the
p-value is two-sided. With fewer than MIN_USES uses per variant, or no outcomes yet, no verdict is given:
a small sample says nothing, and saying "no difference" would be as wrong as naming a winner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_USES = 20
ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    rate_a: float | None
    rate_b: float | None
    z: float | None
    p_value: float | None
    enough_data: bool

    @property
    def significant(self) -> bool:
        return self.enough_data and self.p_value is not None and self.p_value < ALPHA

    @property
    def better(self) -> str | None:
        """"a" or "b" when the difference is significant, otherwise None."""
        if not self.significant or self.rate_a is None or self.rate_b is None:
            return None
        return "a" if self.rate_a > self.rate_b else "b"


def compare(successes_a: int, total_a: int, successes_b: int, total_b: int) -> Comparison:
    rate_a = successes_a / total_a if total_a else None
    rate_b = successes_b / total_b if total_b else None
    enough = total_a >= MIN_USES and total_b >= MIN_USES
    if rate_a is None or rate_b is None:
        return Comparison(rate_a, rate_b, None, None, False)
    pooled = (successes_a + successes_b) / (total_a + total_b)
    variance = pooled * (1 - pooled) * (1 / total_a + 1 / total_b)
    if variance == 0:  # all successes or all failures on both sides: no difference to test
        return Comparison(rate_a, rate_b, 0.0, 1.0, enough)
    z = (rate_a - rate_b) / math.sqrt(variance)
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(rate_a, rate_b, round(z, 3), round(p_value, 4), enough)
