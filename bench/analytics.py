"""Analytics at scale: the roll-up's cost per event, and each dashboard panel's and report's query latency.

    python bench/analytics.py --tickets 1000000 [--messages 2] [--repeat 30]
        [--database-url postgres://postgres@127.0.0.1:5432/kefu_bench_analytics] [--data-dir bench/work/analytics]
        [--output bench/results/analytics-…/sqlite.json]

Loads the data set with bench/generate.py (tickets spread over the last 365 days, with their timeline events),
rolls every event up once, timing it (seconds, events per second, microseconds per event), then runs each panel's
reads ``--repeat`` times as a supervisor and reports p50 and p95 in milliseconds. The database must be empty.
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
    from kefu.analytics import selectors

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
        "monthly report (totals and six breakdowns)": lambda: [
            selectors.figures(actor, days(30), today),
            *(selectors.breakdown(actor, d, days(30), today) for d in
              ("channel", "category", "team", "agent", "tier", "priority"))],
    }
    for dimension in ("channel", "category", "team", "agent", "tier", "priority"):
        reads[f"breakdown by {dimension}, 30 days"] = (
            lambda d=dimension: selectors.breakdown(actor, d, days(30), today))  # type: ignore[misc]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--messages", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "analytics"))
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    generate.configure(args.database_url, args.data_dir)
    Path(os.environ["KEFU_DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    import django
    from django.core.management import call_command
    from django.utils import timezone

    django.setup()
    from kefu.accounts.models import User
    from kefu.analytics.models import Fact
    from kefu.analytics.services import roll_up_all
    from kefu.core.clock import now

    call_command("migrate", verbosity=0, interactive=False)
    load = generate.generate(tickets=args.tickets, messages=args.messages, customers=max(1, args.tickets // 5),
                             progress=False)
    events = load["rows"]["events"]
    started = time.perf_counter()
    rolled = roll_up_all(limit=5000)
    roll_up_s = time.perf_counter() - started
    actor = User.objects.get(username=generate.ADMIN_USERNAME)
    result: dict[str, Any] = {
        "database": load["database"], "tickets": args.tickets, "events": events, "events_rolled_up": rolled,
        "load_seconds": load["seconds"]["total"], "roll_up_seconds": round(roll_up_s, 2),
        "roll_up_events_per_second": round(rolled / roll_up_s, 1) if roll_up_s else None,
        "roll_up_microseconds_per_event": round(roll_up_s / rolled * 1e6, 1) if rolled else None,
        "fact_rows": Fact.objects.count(), "repeat": args.repeat,
        "panels": measure(panels(actor, timezone.localdate(now())), args.repeat),
        "command": " ".join(["python", "bench/analytics.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    result["worst_p95_ms"] = max(p["p95_ms"] for p in result["panels"].values())
    out = json.dumps(result, indent=2, ensure_ascii=False)
    print(out)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
