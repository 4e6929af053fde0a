"""Who gets a waiting ticket, and which waiting ticket goes first. Pure: no Django.

Waiting work is served in lane order: urgent tickets and VIP / core customers ride the priority lane,
then, within a lane, by priority, customer tier, the nearest deadline (the SLA clock that breaches
first) and arrival. An agent is eligible for an item when online and working, under capacity, in the
queue's team, not excluded (the agent whose clock just broke), holding every required skill at its
level and, when the item has a language and the agent lists languages, speaking it.

Strategies pick one eligible agent:

- round robin: whoever was given work longest ago (never first), then the lowest id;
- least loaded: the lowest share of capacity in use, then as round robin;
- best skill: the highest score of skill fit × free capacity × how long the agent has waited for work
  (see ``skill_score``), then as round robin;
- sticky: the agent who served this customer last, when eligible; otherwise best skill.

``assign_batch`` hands out a whole queue in one pass, greedily in service order, so no eligible item is
left waiting while an eligible agent has room, and nobody is pushed over capacity.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

LANE_TIERS = frozenset({"vip", "core"})
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
TIER_RANK = {"core": 0, "vip": 1, "standard": 2}
FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)
IDLE_SATURATION_S = 3600.0  # an agent idle for an hour or more scores the full idle bonus


class Strategy(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    BEST_SKILL = "best_skill"
    STICKY = "sticky"


def lane_of(priority: str, tier: str) -> int:
    """0 for the priority lane (urgent, VIP, core), 1 for everything else."""
    return 0 if priority == "urgent" or tier in LANE_TIERS else 1


@dataclass(frozen=True)
class WorkItem:
    ticket_id: int
    queue_id: int
    team_id: int | None
    priority: str
    tier: str
    enqueued_at: dt.datetime
    due_at: dt.datetime | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)
    language: str = ""
    previous_agent_id: int | None = None
    excluded_agent_id: int | None = None

    @property
    def lane(self) -> int:
        return lane_of(self.priority, self.tier)

    def service_key(self) -> tuple[int, int, int, dt.datetime, dt.datetime, int]:
        return (self.lane, PRIORITY_RANK.get(self.priority, 9), TIER_RANK.get(self.tier, 9),
                self.due_at or FAR_FUTURE, self.enqueued_at, self.ticket_id)


@dataclass
class AgentState:
    agent_id: int
    teams: frozenset[int]
    capacity: int
    load: int = 0
    available: bool = True  # online, and within the working schedule when the agent has one
    skills: Mapping[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    last_assigned_at: dt.datetime | None = None

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)

    @property
    def load_share(self) -> float:
        return self.load / self.capacity if self.capacity > 0 else 1.0


@dataclass(frozen=True)
class Choice:
    agent_id: int
    strategy: Strategy
    score: float | None
    load: int  # before this assignment
    capacity: int
    sticky: bool = False


def service_order(items: Iterable[WorkItem]) -> list[WorkItem]:
    return sorted(items, key=WorkItem.service_key)


def skill_fit(required: Mapping[str, int], skills: Mapping[str, int]) -> float:
    """1.0 when every required skill is held at exactly its level, more for higher levels (capped at 1.5
    per skill), 0 when one is missing or below its level; 1.0 when nothing is required."""
    if not required:
        return 1.0
    total = 0.0
    for name, level in required.items():
        held = skills.get(name, 0)
        if held < level:
            return 0.0
        total += min(held / max(level, 1), 1.5)
    return total / len(required)


def is_eligible(agent: AgentState, item: WorkItem) -> bool:
    if not agent.available or agent.free <= 0 or agent.agent_id == item.excluded_agent_id:
        return False
    if item.team_id is not None and item.team_id not in agent.teams:
        return False
    if item.language and agent.languages and _base_language(item.language) not in agent.languages:
        return False
    return all(agent.skills.get(name, 0) >= level for name, level in item.required_skills.items())


def _base_language(code: str) -> str:
    return code.lower().split("-")[0].split("_")[0]


def idle_share(agent: AgentState, moment: dt.datetime) -> float:
    if agent.last_assigned_at is None:
        return 1.0
    return min(max((moment - agent.last_assigned_at).total_seconds(), 0.0) / IDLE_SATURATION_S, 1.0)


def skill_score(agent: AgentState, item: WorkItem, moment: dt.datetime) -> float:
    """skill fit × free capacity share × (0.5 + half the idle share), in [0, 1.5]."""
    free_share = 1.0 - agent.load_share
    return round(skill_fit(item.required_skills, agent.skills) * free_share * (0.5 + idle_share(agent, moment) / 2), 4)


def _round_robin_key(agent: AgentState) -> tuple[int, dt.datetime, int]:
    # Never given work sorts first; then longest ago.
    if agent.last_assigned_at is None:
        return (0, FAR_FUTURE, agent.agent_id)
    return (1, agent.last_assigned_at, agent.agent_id)


def choose_agent(item: WorkItem, agents: Iterable[AgentState], strategy: Strategy,
                 moment: dt.datetime) -> Choice | None:
    eligible = [a for a in agents if is_eligible(a, item)]
    if not eligible:
        return None
    if strategy == Strategy.STICKY and item.previous_agent_id is not None:
        previous = next((a for a in eligible if a.agent_id == item.previous_agent_id), None)
        if previous is not None:
            return Choice(previous.agent_id, strategy, None, previous.load, previous.capacity, sticky=True)
    if strategy == Strategy.ROUND_ROBIN:
        agent = min(eligible, key=_round_robin_key)
        return Choice(agent.agent_id, strategy, None, agent.load, agent.capacity)
    if strategy == Strategy.LEAST_LOADED:
        agent = min(eligible, key=lambda a: (a.load_share, _round_robin_key(a)))
        return Choice(agent.agent_id, strategy, None, agent.load, agent.capacity)
    scored = [(skill_score(a, item, moment), a) for a in eligible]
    best_score = max(score for score, _ in scored)
    agent = min((a for score, a in scored if score == best_score), key=_round_robin_key)
    # Sticky without its agent falls back to best skill, and says so.
    return Choice(agent.agent_id, Strategy.BEST_SKILL, best_score, agent.load, agent.capacity)


def take(agent: AgentState, moment: dt.datetime) -> None:
    """What an assignment does to the agent's state (the database does the same in its transaction)."""
    agent.load += 1
    agent.last_assigned_at = moment


def assign_batch(items: Sequence[WorkItem], agents: Sequence[AgentState], strategy_of: Mapping[int, Strategy],
                 moment: dt.datetime) -> list[tuple[WorkItem, Choice]]:
    """Assign waiting items in service order until no agent has room; agents' states are updated."""
    with_room = {a.agent_id: a for a in agents if a.available and a.free > 0}
    decisions: list[tuple[WorkItem, Choice]] = []
    for item in service_order(items):
        if not with_room:
            break
        choice = choose_agent(item, with_room.values(), strategy_of.get(item.queue_id, Strategy.ROUND_ROBIN),
                              moment)
        if choice is not None:
            agent = with_room[choice.agent_id]
            take(agent, moment)
            if agent.free <= 0:
                del with_room[agent.agent_id]
            decisions.append((item, choice))
    return decisions


def next_for_agent(agent: AgentState, waiting: Iterable[WorkItem]) -> WorkItem | None:
    """"Get next": the first item in service order this agent may take."""
    return next((item for item in service_order(waiting) if is_eligible(agent, item)), None)


def describe(choice: Choice) -> dict[str, object]:
    """The reason recorded on the timeline, e.g. {"strategy": "best_skill", "score": 0.92, "load": "3/25"}."""
    reason: dict[str, object] = {"strategy": choice.strategy.value, "load": f"{choice.load}/{choice.capacity}"}
    if choice.score is not None:
        reason["score"] = choice.score
    if choice.sticky:
        reason["sticky"] = True
    return reason
