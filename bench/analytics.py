"""Analytics at scale: the roll-up's cost per event, and each dashboard panel's and report's query latency.

    python bench/analytics.py --tickets 1000000 [--messages 2] [--repeat 30] [--reuse] [--new-tickets 300]
        [--database-url postgres://postgres@127.0.0.1:5432/kefu_bench_analytics] [--data-dir bench/work/analytics]
        [--output bench/results/analytics-…/sqlite.json]

Loads the data set with bench/generate.py (tickets spread over the last 365 days, with their timeline events),
rolls every event up once, timing it (seconds, events per second, microseconds per event), takes the backlog
snapshot, then runs each panel's reads ``--repeat`` times as a supervisor and reports p50 and p95 in milliseconds.
Last, the steady state: ``--new-tickets`` tickets live a short life through the real services (opened, accepted,
answered, resolved) on top of the big tables, and the roll-up of their events is timed per event.

The database must be empty, unless ``--reuse``: then an earlier run's data set is kept (loading a million tickets
takes most of an hour) and only what is not rolled up yet is, so the reads can be measured again on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402

TREND = ("created", "resolved")  # the dashboard's trend chart draws these two


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def panels(actor: Any, today: dt.date) -> dict[str, Callable[[], object]]:
    from kefu.analytics import reports, selectors, staffing_inputs, top_issues

    def days(n: int) -> dt.date:
        return today - dt.timedelta(days=n - 1)

    reads: dict[str, Callable[[], object]] = {
        "tiles, today": lambda: selectors.figures(actor, today, today),
        "tiles, 30 days": lambda: selectors.figures(actor, days(30), today),
        "tiles, 365 days": lambda: selectors.figures(actor, days(365), today),
        "trend by day, 90 days": lambda: selectors.trend(actor, days(90), today, "day", TREND),
        "trend by week, 365 days": lambda: selectors.trend(actor, days(365), today, "week", TREND),
        "trend by month, 365 days": lambda: selectors.trend(actor, days(365), today, "month", TREND),
        "trend of every KPI by month, 365 days": lambda: selectors.trend(actor, days(365), today, "month"),
        "arrivals heat map, 90 days": lambda: selectors.arrivals(actor, days(90), today),
        "backlog (latest snapshot)": lambda: selectors.backlog(actor, today),
        "weekly report (totals and six breakdowns)": lambda: reports.compute(days(7), today),
        "monthly report (totals and six breakdowns)": lambda: reports.compute(days(30), today),
    }
    table = selectors.TABLE_METRICS  # what the dashboard's breakdown table reads
    for dimension in ("channel", "category", "team", "agent", "tier", "priority"):
        reads[f"breakdown by {dimension}, 30 days"] = (
            lambda d=dimension: selectors.breakdown(actor, d, days(30), today, table))  # type: ignore[misc]
    reads["staffing planner inputs (4 weeks)"] = lambda: staffing_inputs.observed(actor)
    reads["top issues, 30 days (stored grouping, as the page reads it)"] = lambda: top_issues.top_issues(
        actor, top_issues.last_days(30))
    for dimension in ("agent", "category"):  # the dashboard's "last 12 months", the widest breakdowns
        reads[f"breakdown by {dimension}, 365 days"] = (
            lambda d=dimension: selectors.breakdown(actor, d, days(365), today, table))  # type: ignore[misc]
    return reads


def measure(reads: dict[str, Callable[[], object]], repeat: int) -> dict[str, dict[str, float]]:
    results = {}
    for name, read in reads.items():
        read()  # warm the connection and the statement caches
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            read()
            timings.append((time.perf_counter() - started) * 1000)
        results[name] = {"p50_ms": round(statistics.median(timings), 2),
                         "p95_ms": round(_percentile(timings, 0.95), 2)}
    return results


def _timed_roll_up(roll_up_all: Callable[..., int]) -> dict[str, float | int | None]:
    started = time.perf_counter()
    rolled = roll_up_all(limit=5000)
    seconds = time.perf_counter() - started
    return {"events": rolled, "seconds": round(seconds, 2),
            "events_per_second": round(rolled / seconds, 1) if seconds else None,
            "microseconds_per_event": round(seconds / rolled * 1e6, 1) if rolled else None}


def top_issues_background() -> dict[str, Any]:
    """The top-issues groupings the scheduler plans, computed one after the other as a worker does: what each
    costs the worker (the page reads the stored rows; see the panel "top issues … stored grouping")."""
    from kefu.analytics import top_issues

    timings = []
    for row_id in top_issues.plan_groupings():
        started = time.perf_counter()
        top_issues.compute_stored_grouping(row_id)
        timings.append(time.perf_counter() - started)
    return {"periods": len(timings), "p50_seconds": round(statistics.median(timings), 2) if timings else None,
            "max_seconds": round(max(timings), 2) if timings else None, "total_seconds": round(sum(timings), 1)}


def steady_state(actor: Any, count: int, roll_up_all: Callable[..., int]) -> dict[str, Any]:
    """New tickets through the real services on top of the loaded tables, then the roll-up of their events: what
    keeping the figures current costs per new event once the history is in."""
    from kefu.customers.services import create_customer
    from kefu.tickets import services

    agent = _an_agent()
    for n in range(count):
        customer = create_customer(name=f"Steady {n}", email=f"steady{n}.{time.time_ns()}@bench.example", actor=None)
        ticket = services.open_ticket(customer=customer, subject="Steady-state ticket", actor=customer.user,
                                      description="Measuring the roll-up of new events.", auto_assign=False)
        services.accept_ticket(ticket, actor=agent)
        services.reply_to_customer(ticket, "Looking into it.", actor=agent)
        services.verify_fix(ticket, actor=agent)
        services.resolve_ticket(ticket, actor=agent)
    time.sleep(6)  # the roll-up stays a few seconds behind the newest events (services.LAG)
    return {"tickets": count, "roll_up": _timed_roll_up(roll_up_all)}


def _an_agent() -> Any:
    from kefu.accounts.models import Role, User

    return User.objects.filter(role=Role.AGENT, is_active=True).order_by("pk").first()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--messages", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "analytics"))
    parser.add_argument("--output", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep an earlier run's data set")
    parser.add_argument("--new-tickets", type=int, default=300)
    args = parser.parse_args(argv)
    generate.configure(args.database_url, args.data_dir)
    Path(os.environ["KEFU_DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    import django
    from django.core.management import call_command
    from django.utils import timezone

    django.setup()
    from django.db import connection

    from kefu.accounts.models import User
    from kefu.analytics.models import Fact
    from kefu.analytics.services import roll_up_all, snapshot_backlog
    from kefu.core.clock import now
    from kefu.tickets.models import Ticket, TicketEvent

    call_command("migrate", verbosity=0, interactive=False)
    result: dict[str, Any] = {"database": connection.vendor, "tickets": args.tickets}
    if args.reuse and Ticket.objects.exists():
        result["reused"] = True
    else:
        load = generate.generate(tickets=args.tickets, messages=args.messages, customers=max(1, args.tickets // 5),
                                 progress=False)
        result["load_seconds"] = load["seconds"]["total"]
    result["events"] = TicketEvent.objects.count()
    result["roll_up"] = _timed_roll_up(roll_up_all)
    started = time.perf_counter()
    result["backlog"] = snapshot_backlog()
    result["backlog_snapshot_seconds"] = round(time.perf_counter() - started, 2)
    result["fact_rows"] = Fact.objects.count()
    actor = User.objects.get(username=generate.ADMIN_USERNAME)
    result["repeat"] = args.repeat
    result["top_issues_background"] = top_issues_background()
    result["panels"] = measure(panels(actor, timezone.localdate(now())), args.repeat)
    result["worst_p95_ms"] = max(p["p95_ms"] for p in result["panels"].values())
    result["steady_state"] = steady_state(actor, args.new_tickets, roll_up_all)
    result["command"] = " ".join(["python", "bench/analytics.py", *(argv if argv is not None else sys.argv[1:])])
    out = json.dumps(result, indent=2, ensure_ascii=False)
    print(out)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
