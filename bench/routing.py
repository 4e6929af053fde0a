"""Benchmark: routing decisions with 1,000 agents and 10,000 waiting tickets (target p99 ≤ 10 ms), and
assignments per second under a burst.

    python bench/routing.py --data-dir bench/work/routing [--database-url URL] [--agents 1000] \\
        [--waiting 10000] [--decisions 1000] [--burst 2000] [--out bench/results/routing-<db>.json]

On a freshly migrated database it builds one team with one queue (best skill match), `--agents` agents
online with 25 places each (0–20 of them taken, 3 of 10 skills at levels 1–5, 1 in 10 with a working
schedule), and `--waiting` tickets waiting in the queue (20 % needing a skill, 5 % VIP). Then it times,
in this process:

- intake decision: ``engine.plan_intake`` for a new ticket (the rule match, the candidate agents read
  from the database with their loads and skills, the strategy's choice) — what every intake adds;
- get-next decision: the first waiting ticket in service order that a given agent may take (the waiting
  line read in index order, eligibility checked in Python);
- the same pure choice alone (``strategies.choose_agent`` over the 1,000 agents' states), for reference;
- a burst: `--burst` more tickets arrive at once and ``services.route_waiting`` assigns them (each
  assignment a transaction: claim the entry, claim the agent's place, owner, timeline event with the
  reason, load recount), assignments per second until the queue is empty or every agent is full;
- intake with routing against intake with the plain round robin it replaces (``open_ticket`` with the queue
  switched off), as a ratio: in the 1,000-agent team, and in a team of 25.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import configure  # noqa: E402

SKILLS = [f"skill{n}" for n in range(10)]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    at = lambda q: ordered[min(int(q * len(ordered)), len(ordered) - 1)]  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 3), "p95_ms": round(at(0.95), 3),
            "p99_ms": round(at(0.99), 3), "max_ms": round(ordered[-1], 3)}


def build(agents: int, waiting: int, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password

    from kefu.accounts.models import AgentProfile, AgentSkill, Department, Presence, Role, Skill, User
    from kefu.customers.models import Customer
    from kefu.routing import engine
    from kefu.routing.models import Queue, RoutingEntry, RoutingRule
    from kefu.sla.models import BusinessCalendar
    from kefu.tickets.models import Ticket

    team = Department.objects.create(name="Bench routing")
    queue = Queue.objects.create(name="Bench", team=team, strategy="best_skill", alert_max_waiting=0)
    for n, slug in enumerate(SKILLS[:4]):
        RoutingRule.objects.create(name=f"needs {slug}", queue=queue, keywords=[f"kw{n}"],
                                   required_skills={slug: 1 + n % 3})
    skills = {s: Skill.objects.create(slug=s, name=s) for s in SKILLS}
    calendar = BusinessCalendar.objects.create(name="Bench office hours")
    password = make_password(None)
    users = User.objects.bulk_create([User(username=f"router{n}", role=Role.AGENT, password=password,
                                           display_name=f"Router {n}") for n in range(agents)])
    User.departments.through.objects.bulk_create(
        [User.departments.through(user_id=u.pk, department_id=team.pk) for u in users])
    AgentProfile.objects.bulk_create([AgentProfile(
        user=u, presence=Presence.ONLINE, max_tickets=25, open_tickets=rng.randint(0, 20),
        languages=[] if rng.random() < 0.7 else ["zh", "en"], calendar=calendar if rng.random() < 0.1 else None,
    ) for u in users])
    AgentSkill.objects.bulk_create([AgentSkill(profile_id=u.pk, skill=skills[s], level=rng.randint(1, 5))
                                    for u in users for s in rng.sample(SKILLS, 3)])
    customer_user = User.objects.create(username="bench-routing-customer", role=Role.CUSTOMER, password=password)
    customer = Customer.objects.create(user=customer_user, name="Bench customer", email="routing@bench.example")
    vip_user = User.objects.create(username="bench-routing-vip", role=Role.CUSTOMER, password=password)
    vip = Customer.objects.create(user=vip_user, name="Bench VIP", email="vip@bench.example", tier="vip")
    add_waiting(waiting, team, queue, customer, vip, rng)
    engine.forget_configuration()
    assert RoutingEntry.objects.filter(state="waiting").count() == waiting
    return {"team": team, "queue": queue, "customer": customer, "vip": vip, "users": users,
            "tickets": Ticket.objects.count()}


def add_waiting(count: int, team: Any, queue: Any, customer: Any, vip: Any, rng: random.Random) -> None:
    from kefu.core.clock import now
    from kefu.routing import strategies as st
    from kefu.routing.models import RoutingEntry
    from kefu.tickets.models import Ticket

    moment = now()
    for start in range(0, count, 2000):
        batch = []
        for n in range(start, min(start + 2000, count)):
            who = vip if rng.random() < 0.05 else customer
            batch.append(Ticket(subject=f"waiting {n}", customer=who, team=team, status="new",
                                priority=rng.choice(["urgent", "high", "normal", "normal", "low"]),
                                created_at=moment - dt.timedelta(seconds=count - n)))
        tickets = Ticket.objects.bulk_create(batch)
        RoutingEntry.objects.bulk_create([RoutingEntry(
            ticket=t, queue=queue, channel="email", priority=t.priority, tier=t.customer.tier,
            lane=0 if t.priority == "urgent" or t.customer.tier == "vip" else 1,
            priority_rank=st.PRIORITY_RANK[t.priority], tier_rank=st.TIER_RANK[t.customer.tier],
            enqueued_at=t.created_at, due_at=t.created_at + dt.timedelta(minutes=rng.randint(5, 600)),
            required_skills={rng.choice(SKILLS): rng.randint(1, 4)} if rng.random() < 0.2 else {},
        ) for t in tickets])


def time_intake_decisions(world: dict[str, Any], count: int, rng: random.Random) -> dict[str, float]:
    from kefu.core.clock import now
    from kefu.routing import engine
    from kefu.tickets.models import Ticket

    samples = []
    for n in range(count + 20):
        keyword = f" kw{rng.randint(0, 9)}" if rng.random() < 0.4 else ""
        draft = Ticket(subject=f"new {n}{keyword}", description="", customer=world["customer"], channel="email",
                       priority="normal", created_at=now())
        started = time.perf_counter()
        route = engine.plan_intake(draft, (), now())
        elapsed = (time.perf_counter() - started) * 1000
        assert route is not None
        if n >= 20:  # the first ones warm the caches
            samples.append(elapsed)
    return percentiles(samples)


def time_get_next_decisions(world: dict[str, Any], count: int, rng: random.Random) -> dict[str, float]:
    from kefu.core.clock import now
    from kefu.routing import engine
    from kefu.routing import services as routing

    samples = []
    users = world["users"]
    for n in range(count + 20):
        user = rng.choice(users)
        started = time.perf_counter()
        state = engine.agent_state(user.pk, now())
        assert state is not None
        state.available = True
        routing._next_item(state, routing._queues_of(state), set())
        elapsed = (time.perf_counter() - started) * 1000
        if n >= 20:
            samples.append(elapsed)
    return percentiles(samples)


def time_pure_choice(world: dict[str, Any], count: int, rng: random.Random) -> dict[str, float]:
    from kefu.core.clock import now
    from kefu.routing import engine
    from kefu.routing import strategies as st

    moment = now()
    agents = engine.team_agents(world["team"].pk, moment)
    samples = []
    for n in range(count):
        skills = {rng.choice(SKILLS): rng.randint(1, 3)} if rng.random() < 0.3 else {}
        item = st.WorkItem(ticket_id=n, queue_id=world["queue"].pk, team_id=world["team"].pk, priority="normal",
                           tier="standard", enqueued_at=moment, required_skills=skills)
        started = time.perf_counter()
        st.choose_agent(item, agents, st.Strategy.BEST_SKILL, moment)
        samples.append((time.perf_counter() - started) * 1000)
    return {**percentiles(samples), "agents": len(agents)}


def time_burst(world: dict[str, Any], burst: int, rng: random.Random) -> dict[str, Any]:
    from django.db.models import F, Sum

    from kefu.accounts.models import AgentProfile
    from kefu.routing import services as routing
    from kefu.routing.models import RoutingEntry

    room_before = AgentProfile.objects.aggregate(room=Sum(F("max_tickets") - F("open_tickets")))["room"]
    add_waiting(burst, world["team"], world["queue"], world["customer"], world["vip"], rng)
    waiting_before = RoutingEntry.objects.filter(state="waiting").count()
    started = time.perf_counter()
    assigned = rounds = 0
    while assigned < burst:
        done = routing.route_waiting(per_queue=500)
        rounds += 1
        assigned += done
        if not done:
            break
    seconds = time.perf_counter() - started
    return {"arrived": burst, "waiting_before": waiting_before, "places_free_before": room_before,
            "assigned": assigned, "sweeps": rounds, "seconds": round(seconds, 2),
            "assignments_per_s": round(assigned / seconds, 1) if seconds else None}


def small_team(size: int, rng: random.Random) -> dict[str, Any]:
    """A team of a usual size with its own queue, for intake's cost with routing at that size."""
    from django.contrib.auth.hashers import make_password

    from kefu.accounts.models import AgentProfile, Department, Presence, Role, User
    from kefu.routing.models import Queue

    team = Department.objects.create(name="Bench small team")
    queue = Queue.objects.create(name="Bench small", team=team, strategy="best_skill", alert_max_waiting=0)
    users = User.objects.bulk_create([User(username=f"small{n}", role=Role.AGENT, password=make_password(None))
                                      for n in range(size)])
    User.departments.through.objects.bulk_create(
        [User.departments.through(user_id=u.pk, department_id=team.pk) for u in users])
    AgentProfile.objects.bulk_create([AgentProfile(user=u, presence=Presence.ONLINE, max_tickets=10_000,
                                                   open_tickets=rng.randint(0, 20)) for u in users])
    return {"team": team, "queue": queue, "size": size}


def time_intake(world: dict[str, Any], count: int) -> dict[str, Any]:
    from kefu.routing import engine
    from kefu.routing.models import Queue
    from kefu.tickets import services as tickets

    def run(label: str) -> float:
        started = time.perf_counter()
        for n in range(count):
            tickets.open_ticket(customer=world["customer"], subject=f"{label} {n}", description="d",
                                actor=None, channel="email", team=world["team"])
        return count / (time.perf_counter() - started)

    def queue_on(active: bool) -> None:
        Queue.objects.filter(pk=world["queue"].pk).update(active=active)
        engine.forget_configuration()

    with_routing, without = [], []
    for _ in range(3):  # interleaved: the machine's speed drifts
        queue_on(True)
        with_routing.append(run("routed"))
        queue_on(False)  # no queue: intake's plain round robin over the team
        without.append(run("round robin"))
    queue_on(True)
    return {"agents_in_team": world["size"], "tickets_each": count,
            "with_routing_per_s": [round(x, 1) for x in with_routing],
            "round_robin_per_s": [round(x, 1) for x in without],
            "median_ratio": round(statistics.median(with_routing) / statistics.median(without), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "routing"))
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--intake", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    configure(args.database_url, args.data_dir)
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    world = build(args.agents, args.waiting, rng)
    result: dict[str, Any] = {
        "database": connection.vendor, "agents": args.agents, "waiting": args.waiting,
        "build_seconds": round(time.perf_counter() - started, 1),
        "intake_decision": time_intake_decisions(world, args.decisions, rng),
        "get_next_decision": time_get_next_decisions(world, args.decisions, rng),
        "pure_choice": time_pure_choice(world, args.decisions, rng),
        "burst": time_burst(world, args.burst, rng),
        "intake_with_and_without_routing": time_intake({**world, "size": args.agents}, args.intake),
        "intake_small_team": time_intake({**world, **small_team(25, rng)}, args.intake),
        "target": "decision p99 <= 10 ms",
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
