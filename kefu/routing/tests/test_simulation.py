"""A day of arrivals replayed minute by minute over one team with mixed skills, through the same pure
strategies and alert rules the service uses: Poisson arrivals through the working day with a lunchtime
burst far beyond the team's capacity. Where capacity allows, the service rules hold (waits under the
queue's targets, the priority lane faster); in the burst the alerts fire, and they clear once it drains."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from dataclasses import dataclass

from kefu.routing import alerts, strategies
from kefu.routing.alerts import AlertKind
from kefu.routing.strategies import AgentState, Strategy, WorkItem

DAY = dt.datetime(2026, 12, 3, 0, 0, tzinfo=dt.UTC)
TARGET_WAIT_MIN, LANE_TARGET_MIN, MAX_WAITING = 10, 5, 20
BURST = (11 * 60 + 30, 11 * 60 + 50)  # minutes of the day


def _rate(minute: int) -> float:
    """Arrivals per minute: quiet at night, steady in office hours, a burst at 11:30 (an outage)."""
    if BURST[0] <= minute < BURST[1]:
        return 5.0
    return 0.6 if 9 * 60 <= minute < 18 * 60 else 0.05


@dataclass
class Outcome:
    waits: dict[int, float]  # ticket → minutes from arrival to assignment
    items: dict[int, WorkItem]
    alert_minutes: dict[AlertKind, list[tuple[int, str]]]  # (minute, "open" / "close")
    violations: list[str]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small rates of one minute.
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def simulate(seed: int = 7) -> Outcome:
    rng = random.Random(seed)
    agents = [AgentState(agent_id=n, teams=frozenset({1}), capacity=3, skills={
        "tech": 3, **({"billing": 4} if n <= 4 else {}), **({"english": 3} if n in {2, 7} else {})})
        for n in range(1, 11)]
    busy_until: dict[int, list[float]] = {a.agent_id: [] for a in agents}
    waiting: list[WorkItem] = []
    out = Outcome({}, {}, {AlertKind.TOO_MANY_WAITING: [], AlertKind.WAIT_TOO_LONG: []}, [])
    open_alerts: dict[tuple[int, AlertKind], object] = {}
    next_id = 1
    for minute in range(24 * 60 + 240):  # the day, plus time to drain
        moment = DAY + dt.timedelta(minutes=minute)
        for agent in agents:  # work done frees capacity
            busy_until[agent.agent_id] = [t for t in busy_until[agent.agent_id] if t > minute]
            agent.load = len(busy_until[agent.agent_id])
        for _ in range(_poisson(rng, _rate(minute)) if minute < 24 * 60 else 0):
            roll = rng.random()
            skills = {"billing": 3} if roll < 0.3 else {"english": 2} if roll < 0.4 else {"tech": 1}
            tier = "vip" if rng.random() < 0.1 else "standard"
            priority = "urgent" if rng.random() < 0.03 else rng.choice(["normal", "normal", "high", "low"])
            new = WorkItem(ticket_id=next_id, queue_id=1, team_id=1, priority=priority, tier=tier,
                           enqueued_at=moment + dt.timedelta(seconds=rng.random()), required_skills=skills)
            lane_target = LANE_TARGET_MIN if new.lane == 0 else TARGET_WAIT_MIN
            new = WorkItem(**{**vars(new), "due_at": moment + dt.timedelta(minutes=lane_target)})
            out.items[next_id] = new
            waiting.append(new)
            next_id += 1
        for work, choice in strategies.assign_batch(waiting, agents, {1: Strategy.BEST_SKILL}, moment):
            waiting.remove(work)
            out.waits[work.ticket_id] = (moment - work.enqueued_at).total_seconds() / 60
            busy_until[choice.agent_id].append(minute + rng.expovariate(1 / 12))  # ~12 min per ticket
            if len(busy_until[choice.agent_id]) > 3:
                out.violations.append(f"agent {choice.agent_id} over capacity at minute {minute}")
        for agent in agents:
            if agent.free and any(strategies.is_eligible(agent, w) for w in waiting):
                out.violations.append(f"agent {agent.agent_id} idle beside eligible work at minute {minute}")
        oldest = min((w.enqueued_at for w in waiting), default=None)
        oldest_lane = min((w.enqueued_at for w in waiting if w.lane == 0), default=None)
        load = alerts.QueueLoad(
            queue_id=1, waiting=len(waiting), max_waiting=MAX_WAITING, max_wait_s=TARGET_WAIT_MIN * 60,
            longest_wait_s=(moment - oldest).total_seconds() if oldest else 0,
            longest_lane_wait_s=(moment - oldest_lane).total_seconds() if oldest_lane else 0,
            max_lane_wait_s=LANE_TARGET_MIN * 60)
        opened, closed = alerts.alert_changes([load], open_alerts)
        for _load, kind in opened:
            open_alerts[(1, kind)] = minute
            out.alert_minutes[kind].append((minute, "open"))
        for key in closed:
            del open_alerts[key]
            out.alert_minutes[key[1]].append((minute, "close"))
    return out


def test_a_day_of_arrivals_meets_the_service_rules_where_capacity_allows_and_alerts_when_not() -> None:
    day = simulate()
    assert day.violations == []
    assert len(day.waits) == len(day.items) > 400  # nothing starves: every ticket was assigned by the end
    calm = [t for t, w in day.items.items() if not BURST[0] - 5 <= _minute(w) < BURST[1] + 120]
    in_time = [t for t in calm if day.waits[t] <= (LANE_TARGET_MIN if day.items[t].lane == 0 else TARGET_WAIT_MIN)]
    assert len(in_time) / len(calm) >= 0.98, "outside the burst the team has room: waits stay under target"

    burst = [t for t, w in day.items.items() if BURST[0] <= _minute(w) < BURST[1]]
    assert len(burst) > 60
    lane = [day.waits[t] for t in burst if day.items[t].lane == 0]
    rest = [day.waits[t] for t in burst if day.items[t].lane == 1]
    assert statistics.median(lane) < statistics.median(rest) / 2, "the priority lane is served first in the burst"

    for kind in (AlertKind.TOO_MANY_WAITING, AlertKind.WAIT_TOO_LONG):
        events = day.alert_minutes[kind]
        assert events, f"{kind} never fired"
        assert all(BURST[0] <= minute <= BURST[1] + 180 for minute, _ in events), events  # only around the burst
        assert events[-1][1] == "close", "the alert clears once the queue drains"
    assert len(day.alert_minutes[AlertKind.TOO_MANY_WAITING]) == 2, "one alert per episode, not one per minute"


def test_the_simulation_is_deterministic_for_a_seed() -> None:
    assert simulate(11).waits == simulate(11).waits


def _minute(work: WorkItem) -> int:
    return int((work.enqueued_at - DAY).total_seconds() // 60)
