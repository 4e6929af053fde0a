"""Which policy applies to a ticket, and the targets it gets. Pure: no Django.

Policies are tried in their order; the first whose conditions all hold applies. An empty condition
matches anything. VIP and core customers ride a priority lane: their response targets are scaled down
(halved by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

Key = TypeVar("Key")

LANE_TIERS = frozenset({"vip", "core"})


@dataclass(frozen=True)
class TicketFacts:
    priority: str
    complexity: str
    channel: str
    tier: str
    category: str = ""  # slug
    team_id: int | None = None


@dataclass(frozen=True)
class Conditions:
    priorities: frozenset[str] = frozenset()
    complexities: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    teams: frozenset[int] = frozenset()

    def matches(self, facts: TicketFacts) -> bool:
        checks = [
            (self.priorities, facts.priority), (self.complexities, facts.complexity),
            (self.channels, facts.channel), (self.tiers, facts.tier), (self.categories, facts.category),
            (self.teams, facts.team_id),
        ]
        return all(not allowed or value in allowed for allowed, value in checks)


def first_match(policies: Sequence[tuple[Key, Conditions]], facts: TicketFacts) -> Key | None:
    for key, conditions in policies:
        if conditions.matches(facts):
            return key
    return None


@dataclass(frozen=True)
class Milestone:
    """A named step with its own deadline, e.g. "diagnosis within 1 h of acceptance".

    It starts on ``created`` or ``accepted`` and is met by the first timeline event of one of the
    ``met_on`` types.
    """

    name: str
    minutes: int
    starts_on: str = "accepted"
    met_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Targets:
    first_response: int | None = None  # minutes
    update_every: int | None = None
    resolution: int | None = None
    reevaluation: int | None = None
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def for_customer(targets: Targets, tier: str, lane_percent: int) -> Targets:
    """The priority lane: VIP and core customers get their response targets scaled by lane_percent."""
    if tier not in LANE_TIERS or lane_percent >= 100:
        return targets

    def scaled(minutes: int | None) -> int | None:
        return None if minutes is None else max(1, minutes * lane_percent // 100)

    return dataclasses.replace(targets, first_response=scaled(targets.first_response),
                               update_every=scaled(targets.update_every))


def warning_after(target_seconds: float, warning_percent: int) -> float:
    return target_seconds * warning_percent / 100


MILESTONE_STARTS = frozenset({"created", "accepted"})


def milestone_problems(milestones: object) -> list[str]:
    """What is wrong with a policy's milestone list (empty when nothing)."""
    if not isinstance(milestones, list):
        return ["expected a list of milestones"]
    problems = []
    for entry in milestones:
        if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
            problems.append(f"{entry!r}: each milestone needs a name")
            continue
        minutes = entry.get("minutes")
        if not isinstance(minutes, int) or minutes <= 0:
            problems.append(f"{entry['name']}: minutes must be a positive whole number")
        if entry.get("starts_on", "accepted") not in MILESTONE_STARTS:
            problems.append(f"{entry['name']}: starts_on must be created or accepted")
        if not isinstance(entry.get("met_on", []), list):
            problems.append(f"{entry['name']}: met_on must be a list of timeline event types")
    return problems
