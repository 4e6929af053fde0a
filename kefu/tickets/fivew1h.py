"""The 5W1H capture: what the agent needs to act without asking again (pure logic)."""

from __future__ import annotations

from collections.abc import Mapping

FIELDS = ("what", "when", "where", "who", "how", "expected")


def missing(values: Mapping[str, str]) -> list[str]:
    return [name for name in FIELDS if not (values.get(name) or "").strip()]


def completeness(values: Mapping[str, str]) -> float:
    """Share of the six facts captured, 0.0–1.0."""
    return round(1 - len(missing(values)) / len(FIELDS), 2)
