"""The staffing planner: agents per hour from arrivals, handling time and a service-level target (pure logic).

The model is Erlang C (M/M/N): contacts arrive at random (Poisson) at ``arrivals_per_hour``, each takes an
exponentially distributed handling time averaging ``aht_seconds``, ``N`` agents serve one first-come-first-served
queue and nobody abandons. The offered traffic is ``A = arrivals × AHT / 3600`` erlangs (the agents that would be
busy on average). With ``N > A`` the queue is stable and

- the probability that a contact waits at all is Erlang C, ``C(A, N)``;
- the service level, the share answered within ``t`` seconds, is ``1 − C(A, N) · exp(−(N − A) · t / AHT)``;
- the average speed of answer (ASA) is ``C(A, N) · AHT / (N − A)``;
- occupancy, the share of the agents' logged-in time spent handling contacts, is ``A / N``.

With ``N ≤ A`` the queue grows without bound: every contact waits, the service level tends to 0, ASA is
infinite and the agents are busy all the time. The functions answer exactly that instead of raising, because a
roster that cannot keep up is something the planner must show, not an input error.

Erlang C is computed from the Erlang B recursion ``B(A, k) = A·B(A, k−1) / (k + A·B(A, k−1))`` and
``C = N·B / (N − A·(1 − B))``: no factorials and no powers, so it stays accurate for thousands of agents where
``A^N / N!`` overflows a float.

Agents found by Erlang C are *productive* agents: on the phone or in the inbox. Shrinkage (breaks, meetings,
training, absence) takes a share of everyone's paid time, so the roster needs ``ceil(N / (1 − shrinkage))``
people, and a roster of ``R`` people yields ``floor(R × (1 − shrinkage))`` productive agents. Both are computed
on exact fractions so that 14 agents at 30 % shrinkage schedule 20 people, not the 21 that ``14 / 0.7`` in
floating point (20.000000000000004) would round up to.

For e-mail and other deferred channels the same model is the usual planning approximation: a long target
(90 % within 2 hours) with a long handling time. It assumes agents take the oldest waiting contact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

SECONDS_PER_HOUR = 3600
HOURS_PER_WEEK = 168
"""A weekly plan has one slot per hour of the week; slot 0 is Monday 00:00–01:00, slot 167 Sunday 23:00–24:00."""


class StaffingError(ValueError):
    """An input the planner cannot work with; the message says which one and why."""


class ImpossibleTarget(StaffingError):
    """No number of agents meets the service-level target (e.g. 100 % of contacts within any time)."""


# --- checking inputs ----------------------------------------------------------------------------------------


def _non_negative(value: float, name: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise StaffingError(f"{name} must be a finite number ≥ 0, not {value!r}")
    return float(value)


def _agent_count(agents: int, name: str = "agents") -> int:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise StaffingError(f"{name} must be a whole number ≥ 0, not {agents!r}")
    return agents


def _target_fraction(fraction: float) -> float:
    if not math.isfinite(fraction) or not 0 <= fraction <= 1:
        raise StaffingError(f"a service-level target is a share between 0 and 1, not {fraction!r}")
    return float(fraction)


def _max_occupancy(max_occupancy: float | None) -> float | None:
    if max_occupancy is None:
        return None
    if not math.isfinite(max_occupancy) or not 0 < max_occupancy <= 1:
        raise StaffingError(f"a maximum occupancy is a share above 0 and at most 1, not {max_occupancy!r}")
    return float(max_occupancy)


def exact_shrinkage(shrinkage: float | str | Fraction) -> Fraction:
    """The shrinkage as an exact fraction (0.3 is 3/10), checked to lie in [0, 1).

    Raises ``StaffingError`` for 1 or more (nobody would ever be available) and for negative values.
    """
    try:
        value = Fraction(str(shrinkage)) if isinstance(shrinkage, float) else Fraction(shrinkage)
    except (ValueError, ZeroDivisionError) as error:
        raise StaffingError(f"shrinkage must be a share in [0, 1), not {shrinkage!r}") from error
    if not 0 <= value < 1:
        raise StaffingError(
            f"shrinkage must be a share in [0, 1), not {shrinkage!r}: at 100 % nobody is ever available to answer"
        )
    return value


# --- the queue ----------------------------------------------------------------------------------------------


def traffic_erlangs(arrivals_per_hour: float, aht_seconds: float) -> float:
    """The offered traffic in erlangs: how many agents would be busy on average (arrivals × AHT / 3600)."""
    arrivals = _non_negative(arrivals_per_hour, "arrivals per hour")
    aht = _non_negative(aht_seconds, "average handling time (seconds)")
    return arrivals * aht / SECONDS_PER_HOUR


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """The Erlang B blocking probability of ``agents`` servers offered ``traffic_erlangs``, in [0, 1]."""
    traffic = _non_negative(traffic_erlangs, "traffic (erlangs)")
    blocking = 1.0
    for servers in range(1, _agent_count(agents) + 1):
        blocking = traffic * blocking / (servers + traffic * blocking)
    return blocking


def _erlang_c_from_b(traffic: float, agents: int, blocking: float) -> float:
    if agents <= traffic:
        return 1.0
    return min(1.0, agents * blocking / (agents - traffic * (1 - blocking)))


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """The probability that a contact has to wait, in [0, 1].

    1.0 when ``agents ≤ traffic_erlangs`` (the queue grows without bound, so everyone waits); 0.0 when there
    is no traffic and at least one agent.
    """
    traffic = _non_negative(traffic_erlangs, "traffic (erlangs)")
    return _erlang_c_from_b(traffic, agents, erlang_b(traffic, agents))


def _service_level_from_c(traffic: float, agents: int, wait_probability: float, aht: float, target: float) -> float:
    if agents <= traffic:
        return 0.0
    if aht == 0:
        return 1.0  # contacts that take no time never hold an agent, so nobody waits
    return max(0.0, 1.0 - wait_probability * math.exp(-(agents - traffic) * target / aht))


def service_level(arrivals_per_hour: float, aht_seconds: float, agents: int, target_seconds: float) -> float:
    """The share of contacts answered within ``target_seconds``, in [0, 1].

    1.0 with no arrivals (nobody waited); 0.0 when the agents cannot keep up (``agents ≤ traffic``), which
    includes no agents at all. ``target_seconds = 0`` gives the share answered without any wait.
    """
    traffic = traffic_erlangs(arrivals_per_hour, aht_seconds)
    target = _non_negative(target_seconds, "target answer time (seconds)")
    agents = _agent_count(agents)
    if arrivals_per_hour == 0:
        return 1.0
    return _service_level_from_c(traffic, agents, erlang_c(traffic, agents), float(aht_seconds), target)


def average_speed_of_answer(arrivals_per_hour: float, aht_seconds: float, agents: int) -> float:
    """The mean wait before an answer in seconds, over all contacts (those answered at once count as 0).

    0.0 with no arrivals; ``math.inf`` when the agents cannot keep up (``agents ≤ traffic``).
    """
    traffic = traffic_erlangs(arrivals_per_hour, aht_seconds)
    agents = _agent_count(agents)
    if arrivals_per_hour == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht_seconds / (agents - traffic)


def occupancy(arrivals_per_hour: float, aht_seconds: float, agents: int) -> float:
    """The share of the agents' time spent handling contacts, in [0, 1].

    0.0 with no traffic; 1.0 when the agents cannot keep up (``agents ≤ traffic``, including no agents while
    contacts arrive): they are never idle and the backlog grows.
    """
    traffic = traffic_erlangs(arrivals_per_hour, aht_seconds)
    agents = _agent_count(agents)
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return traffic / agents


def agents_needed(
    arrivals_per_hour: float,
    aht_seconds: float,
    target_fraction: float,
    target_seconds: float,
    max_occupancy: float | None = None,
) -> int:
    """The smallest number of productive agents that answers ``target_fraction`` of contacts within
    ``target_seconds``, keeps the queue stable (more agents than erlangs of traffic) and, when given,
    keeps occupancy at or below ``max_occupancy``.

    0 with no arrivals; at least 1 whenever contacts arrive, even if they take no time.
    Raises ``ImpossibleTarget`` for a target of 100 % while contacts take time (Erlang C never reaches it
    with any finite number of agents) and ``StaffingError`` for inputs out of range.
    """
    traffic = traffic_erlangs(arrivals_per_hour, aht_seconds)
    fraction = _target_fraction(target_fraction)
    target = _non_negative(target_seconds, "target answer time (seconds)")
    ceiling = _max_occupancy(max_occupancy)
    if arrivals_per_hour == 0:
        return 0
    if fraction == 1 and traffic > 0:
        raise ImpossibleTarget(
            f"no number of agents answers 100 % of contacts within {target:g} s: with random arrivals some "
            "contact always finds every agent busy; choose a target below 100 %"
        )
    return _search_agents(traffic, float(aht_seconds), fraction, target, ceiling)


def _search_agents(traffic: float, aht: float, fraction: float, target: float, ceiling: float | None) -> int:
    # One pass up the Erlang B recursion: each candidate costs O(1), so the search is O(answer), where calling
    # erlang_c() per candidate would be quadratic in the number of agents.
    blocking = 1.0
    agents = 0
    while True:
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)
        if agents <= traffic or (ceiling is not None and traffic / agents > ceiling):
            continue
        wait_probability = _erlang_c_from_b(traffic, agents, blocking)
        if _service_level_from_c(traffic, agents, wait_probability, aht, target) >= fraction:
            return agents


def scheduled_agents(required_agents: int, shrinkage: float | str | Fraction) -> int:
    """The people to roster so that ``required_agents`` are productive: ``ceil(required / (1 − shrinkage))``."""
    required = _agent_count(required_agents, "required agents")
    return math.ceil(required / (1 - exact_shrinkage(shrinkage)))


def productive_agents(rostered_agents: int, shrinkage: float | str | Fraction) -> int:
    """The agents a roster actually puts on contacts: ``floor(rostered × (1 − shrinkage))``.

    Rounded down because a fraction of an agent answers nobody; so a roster of ``scheduled_agents(N, s)``
    people always yields at least ``N``.
    """
    rostered = _agent_count(rostered_agents, "rostered agents")
    return math.floor(rostered * (1 - exact_shrinkage(shrinkage)))


# --- the weekly plan ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceTarget:
    """``fraction`` of contacts answered within ``seconds`` (80 % of chats within 30 s is ``(0.8, 30)``)."""

    fraction: float
    seconds: float

    def __post_init__(self) -> None:
        _target_fraction(self.fraction)
        _non_negative(self.seconds, "target answer time (seconds)")


@dataclass(frozen=True)
class HourDemand:
    """What one hour of the week brings: contacts arriving per hour and their average handling time."""

    arrivals_per_hour: float
    aht_seconds: float

    def __post_init__(self) -> None:
        _non_negative(self.arrivals_per_hour, "arrivals per hour")
        _non_negative(self.aht_seconds, "average handling time (seconds)")


@dataclass(frozen=True)
class ChannelWeek:
    """One channel's week: its target, its demand for each of the 168 hours and, optionally, the people
    currently rostered on it in each hour (before shrinkage)."""

    channel: str
    target: ServiceTarget
    demand: Sequence[HourDemand]
    roster: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if len(self.demand) != HOURS_PER_WEEK:
            raise StaffingError(
                f"channel {self.channel!r}: a week has {HOURS_PER_WEEK} hourly slots, got {len(self.demand)}"
            )
        if self.roster is not None:
            if len(self.roster) != HOURS_PER_WEEK:
                raise StaffingError(
                    f"channel {self.channel!r}: the roster needs {HOURS_PER_WEEK} hourly slots, got {len(self.roster)}"
                )
            for rostered in self.roster:
                _agent_count(rostered, f"channel {self.channel!r}: rostered agents")


@dataclass(frozen=True)
class RosterOutcome:
    """What the current roster achieves in one hour."""

    rostered: int
    """People on the roster, before shrinkage."""
    productive: int
    """Agents left to handle contacts after shrinkage."""
    service_level: float
    average_speed_of_answer: float
    """Seconds; ``math.inf`` when the roster cannot keep up."""
    occupancy: float
    meets_target: bool
    """The service level reaches the target (the occupancy ceiling, if any, is not part of the target)."""


@dataclass(frozen=True)
class HourPlan:
    """The recommendation for one hour of the week, and the current roster's outcome when one was given."""

    slot: int
    """0 = Monday 00:00–01:00 … 167 = Sunday 23:00–24:00."""
    demand: HourDemand
    traffic_erlangs: float
    required_agents: int
    """Productive agents Erlang C asks for."""
    scheduled_agents: int
    """People to roster so that ``required_agents`` remain after shrinkage."""
    roster: RosterOutcome | None

    @property
    def roster_gap(self) -> int | None:
        """People missing from the roster (negative: people beyond the recommendation); None without a roster."""
        return None if self.roster is None else self.scheduled_agents - self.roster.rostered


@dataclass(frozen=True)
class ChannelPlan:
    channel: str
    target: ServiceTarget
    hours: tuple[HourPlan, ...]

    @property
    def scheduled_agent_hours(self) -> int:
        """The rostered person-hours the recommendation needs over the week."""
        return sum(hour.scheduled_agents for hour in self.hours)

    @property
    def hours_short_of_target(self) -> tuple[int, ...]:
        """The slots where the current roster misses the target (empty without a roster)."""
        return tuple(h.slot for h in self.hours if h.roster is not None and not h.roster.meets_target)

    @property
    def roster_service_level(self) -> float | None:
        """The current roster's service level over the week, each hour weighted by its arrivals.

        None without a roster; 1.0 for a week without arrivals.
        """
        outcomes = [(h.demand.arrivals_per_hour, h.roster) for h in self.hours if h.roster is not None]
        if not outcomes:
            return None
        arrivals = sum(weight for weight, _ in outcomes)
        if arrivals == 0:
            return 1.0
        return sum(weight * outcome.service_level for weight, outcome in outcomes) / arrivals


@dataclass(frozen=True)
class WeekPlan:
    shrinkage: Fraction
    max_occupancy: float | None
    channels: tuple[ChannelPlan, ...]


def plan_hour(
    slot: int,
    demand: HourDemand,
    target: ServiceTarget,
    *,
    shrinkage: Fraction,
    max_occupancy: float | None,
    rostered: int | None,
) -> HourPlan:
    """One hour's recommendation and, given ``rostered`` people, what they would achieve."""
    arrivals, aht = demand.arrivals_per_hour, demand.aht_seconds
    required = agents_needed(arrivals, aht, target.fraction, target.seconds, max_occupancy)
    outcome = None
    if rostered is not None:
        productive = productive_agents(rostered, shrinkage)
        achieved = service_level(arrivals, aht, productive, target.seconds)
        wait = average_speed_of_answer(arrivals, aht, productive)
        outcome = RosterOutcome(
            rostered=rostered,
            productive=productive,
            service_level=achieved,
            average_speed_of_answer=wait,
            occupancy=occupancy(arrivals, aht, productive),
            # A roster that cannot keep up misses any target, even 0 %: its backlog grows all hour.
            meets_target=achieved >= target.fraction and math.isfinite(wait),
        )
    return HourPlan(
        slot=slot,
        demand=demand,
        traffic_erlangs=traffic_erlangs(arrivals, aht),
        required_agents=required,
        scheduled_agents=scheduled_agents(required, shrinkage),
        roster=outcome,
    )


def plan_week(
    channels: Sequence[ChannelWeek],
    *,
    shrinkage: float | str | Fraction,
    max_occupancy: float | None = None,
) -> WeekPlan:
    """Agents per hour of the week for each channel, and what each channel's current roster achieves.

    Raises ``StaffingError`` for a shrinkage outside [0, 1) or a maximum occupancy outside (0, 1], and
    ``ImpossibleTarget`` naming the channel and hour when a target cannot be met by any number of agents.
    """
    exact = exact_shrinkage(shrinkage)
    ceiling = _max_occupancy(max_occupancy)
    return WeekPlan(
        shrinkage=exact,
        max_occupancy=ceiling,
        channels=tuple(_plan_channel(week, exact, ceiling) for week in channels),
    )


def _plan_channel(week: ChannelWeek, shrinkage: Fraction, max_occupancy: float | None) -> ChannelPlan:
    hours = []
    for slot, demand in enumerate(week.demand):
        rostered = None if week.roster is None else week.roster[slot]
        try:
            hour = plan_hour(
                slot, demand, week.target, shrinkage=shrinkage, max_occupancy=max_occupancy, rostered=rostered
            )
        except ImpossibleTarget as error:
            raise ImpossibleTarget(f"channel {week.channel!r}, hour {slot} of the week: {error}") from error
        hours.append(hour)
    return ChannelPlan(channel=week.channel, target=week.target, hours=tuple(hours))
