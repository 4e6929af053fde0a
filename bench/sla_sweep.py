"""Benchmark: the SLA sweep at 100k and 1M open tickets, and business-time additions per second.

    python bench/sla_sweep.py --data-dir bench/work/sweep-sqlite [--database-url URL] \\
        [--sizes 100000,1000000] [--due-percent 1] [--out bench/results/sla-sweep-<db>.json]

For each size it bulk-loads open tickets (no messages), each with a running first-response clock on the
notify-only "General" policy; `--due-percent` of the clocks are due (half past their warning time, half
past their due time), the others due next week. It then times, on the same database: a sweep with
nothing due (the cost of asking), and the sweep that works off every due clock in batches (a timeline
event, a bell alert and an email per clock). Sizes grow in place: the second size adds tickets to the
first, and re-arms the first size's due clocks. The database must be empty at the start.

With `--reuse`, nothing is loaded: the due clocks an earlier run swept are re-armed and the sweep is
measured again on the database as it is (to compare code changes on the same data). `--rearm N` re-arms
only N of them, spread evenly over the table: fewer due clocks among the same open tickets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.generate import configure  # noqa: E402

BATCH = 10_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "sweep-sqlite"))
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--due-percent", type=float, default=1.0)
    parser.add_argument("--out", default=None)
    parser.add_argument("--reuse", action="store_true", help="re-arm and measure an already loaded database")
    parser.add_argument("--rearm", type=int, default=None,
                        help="with --reuse, re-arm only this many of the swept clocks (evenly spread by ticket)")
    parser.add_argument("--checkpoint-first", action="store_true",
                        help="with --reuse, PostgreSQL: CHECKPOINT between re-arming and sweeping (the sweep then "
                             "writes each page it changes whole into the WAL)")
    parser.add_argument("--settle", action="store_true",
                        help="PostgreSQL: CHECKPOINT after each load (and its VACUUM ANALYZE) before the first sweep, "
                             "so that the load's writes are flushed as on a live database")
    args = parser.parse_args(argv)
    configure(args.database_url, args.data_dir)
    Path(os.environ["KEFU_DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    result: dict[str, Any] = {
        "database": connection.vendor, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine.describe(),
        "command": " ".join(["python", "bench/sla_sweep.py", *(argv if argv is not None else sys.argv[1:])]),
        "business_time": business_time_rate(),
        "sizes": [],
    }
    if args.reuse:
        from kefu.tickets.models import Ticket

        rearmed = _rearm_swept(args.rearm)
        if args.checkpoint_first and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")
        result["sizes"].append({"open_tickets": Ticket.objects.count(), "reused": True, "rearmed": rearmed,
                                "checkpoint_first": args.checkpoint_first,
                                **_measure()})
        print(json.dumps(result["sizes"][-1]), file=sys.stderr)
        return _write(result, args.out, connection.vendor)
    world = _world()
    loaded = 0
    for size in [int(s) for s in args.sizes.split(",")]:
        t0 = time.perf_counter()
        rearmed = _rearm_swept()
        _load(world, start=loaded, count=size - loaded, due_percent=args.due_percent)
        load_s = time.perf_counter() - t0
        loaded = size
        _analyze(connection)
        if args.settle and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")
        result["sizes"].append({"open_tickets": size, "load_s": round(load_s, 1), "rearmed": rearmed,
                                "settled": args.settle, **_measure()})
        print(json.dumps(result["sizes"][-1]), file=sys.stderr)
    return _write(result, args.out, connection.vendor)


def _write(result: dict[str, Any], out_arg: str | None, vendor: str) -> int:
    name = "postgres" if vendor == "postgresql" else vendor
    out = Path(out_arg) if out_arg else ROOT / "bench" / "results" / f"sla-sweep-{name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def business_time_rate(n: int = 20_000) -> dict[str, Any]:
    """kefu.sla.businesstime.add on the office calendar with mainland China holidays, random 1 min–3 days."""
    from zoneinfo import ZoneInfo

    import holidays

    from kefu.sla import businesstime as bt

    tz = ZoneInfo("Asia/Shanghai")
    cn = holidays.country_holidays("CN", years=[2026, 2027])
    calendar = bt.Calendar(tz=tz, week={d: [(540, 720), (780, 1080)] for d in range(5)},
                           holidays=frozenset(cn), workdays=frozenset(cn.weekend_workdays))
    rng = random.Random(1)
    base = dt.datetime(2026, 1, 1, tzinfo=tz)
    cases = [(base + dt.timedelta(minutes=rng.randrange(0, 700 * 24 * 60)), rng.randrange(60, 24 * 3600))
             for _ in range(n)]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for start, seconds in cases:
            bt.add(calendar, start, seconds)
        runs.append(n / (time.perf_counter() - t0))
    return {"additions_per_s_median": round(statistics.median(runs)), "runs": [round(r) for r in runs], "n": n}


def _world() -> dict[str, Any]:
    from kefu.accounts.models import Department, Role, User
    from kefu.customers.models import Customer
    from kefu.sla.models import SlaPolicy

    team = Department.objects.create(name="Sweep team", kind=Department.Kind.SUPPORT)
    agent = User.objects.create_user(username="sweep-agent", email="agent@sweep.example", role=Role.AGENT)
    agent.departments.add(team)
    supervisor = User.objects.create_user(username="sweep-supervisor", email="sup@sweep.example",
                                          role=Role.SUPERVISOR)
    supervisor.departments.add(team)
    user = User.objects.create_user(username="sweep-customer", email="c@sweep.example", role=Role.CUSTOMER)
    customer = Customer.objects.create(user=user, name="Sweep customer", email="c@sweep.example")
    policy = SlaPolicy.objects.get(name="General")
    return {"team": team, "agent": agent, "customer": customer, "policy": policy}


def _load(world: dict[str, Any], *, start: int, count: int, due_percent: float) -> None:
    from django.db import transaction

    from kefu.core.clock import now
    from kefu.sla.models import TicketClock, TicketSla
    from kefu.tickets.models import Ticket

    moment = now()
    rng = random.Random(start)
    for offset in range(0, count, BATCH):
        n = min(BATCH, count - offset)
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create([
                Ticket(subject=f"Sweep ticket {start + offset + i}", customer=world["customer"], channel="web",
                       status="open", priority="low", team=world["team"], owner=world["agent"],
                       created_at=moment, updated_at=moment, accepted_at=moment)
                for i in range(n)])
            if not tickets[0].pk:  # SQLite before 3.35 does not return ids
                last = Ticket.objects.order_by("-id").values_list("id", flat=True)[:n]
                for ticket, pk in zip(tickets, reversed(list(last)), strict=True):
                    ticket.pk = pk
            TicketSla.objects.bulk_create([TicketSla(ticket=t, policy=world["policy"], policy_name="General",
                                                     targets={}) for t in tickets])
            clocks = []
            for ticket in tickets:
                roll = rng.random() * 100
                if roll < due_percent / 2:  # past its warning time
                    due, warn = moment + dt.timedelta(minutes=30), moment - dt.timedelta(minutes=1)
                elif roll < due_percent:  # past its due time
                    due, warn = moment - dt.timedelta(minutes=1), moment - dt.timedelta(minutes=20)
                else:
                    due, warn = moment + dt.timedelta(days=7), moment + dt.timedelta(days=6)
                clocks.append(TicketClock(ticket=ticket, kind="first_response", target_seconds=8 * 3600,
                                          started_at=moment, due_at=due, warn_at=warn, next_check_at=warn))
            TicketClock.objects.bulk_create(clocks)


def _rearm_swept(limit: int | None = None) -> int:
    """Put the clocks a previous size's sweep handled back to due, so every size has its 1 %; with ``limit``,
    only that many, every k-th by ticket so they stay spread over the whole table.

    Times are set from now, as the load sets them: half past their warning time, half past their due time,
    however long ago the load was."""
    from kefu.core.clock import now
    from kefu.sla.models import TicketClock

    moment = now()
    swept = TicketClock.objects.filter(state__in=["warning", "breached"])
    if limit is not None:
        ids = list(swept.order_by("ticket_id").values_list("pk", flat=True))
        chosen = ids[::max(1, len(ids) // max(1, limit))][:limit]
        # A warned clock that is not re-armed would come due again when its due time passes.
        swept.filter(state="warning").exclude(pk__in=chosen).update(next_check_at=None)
        swept = TicketClock.objects.filter(pk__in=chosen)
    warned = swept.filter(state="warning").update(
        state="running", warned_at=None, due_at=moment + dt.timedelta(minutes=30),
        warn_at=moment - dt.timedelta(minutes=1), next_check_at=moment - dt.timedelta(minutes=1))
    breached = swept.filter(state="breached").update(
        state="running", breached_at=None, due_at=moment - dt.timedelta(minutes=1),
        warn_at=moment - dt.timedelta(minutes=20), next_check_at=moment - dt.timedelta(minutes=20))
    return warned + breached


def _analyze(connection: Any) -> None:
    # What autovacuum has done to a live database: statistics, and on PostgreSQL the freshly loaded rows'
    # hint bits and visibility map (otherwise the first sweep pays for touching each page once more,
    # writing it whole into the WAL: 1.22 s instead of 0.73–0.83 s at 1M, 2026-12-03).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def _measure() -> dict[str, Any]:
    from kefu.core.clock import now
    from kefu.sla import services
    from kefu.sla.models import TicketClock

    moment = now()
    due = TicketClock.objects.filter(next_check_at__lte=moment).count()
    empty = []
    for _ in range(5):
        t0 = time.perf_counter()
        services.due_clocks(moment - dt.timedelta(days=1))  # nothing is due a day ago
        empty.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    handled = 0
    batch_ms: list[float] = []  # each batch on its own: where a slow first sweep spends its time
    while True:
        started = time.perf_counter()
        n = services.sweep(moment)
        batch_ms.append(round((time.perf_counter() - started) * 1000, 1))
        handled += n
        if n < services.SWEEP_BATCH:
            break
    sweep_s = time.perf_counter() - t0
    return {"due": due, "handled": handled, "batches": len(batch_ms), "batch_ms": batch_ms,
            "sweep_s": round(sweep_s, 3), "ms_per_due_clock": round(sweep_s * 1000 / max(handled, 1), 3),
            "nothing_due_query_ms_median": round(statistics.median(empty), 3)}


if __name__ == "__main__":
    raise SystemExit(main())
