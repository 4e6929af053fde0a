"""In-process probe: SQL queries per page and the plans of the slowest ones (no HTTP server).

    python bench/probe.py --data-dir bench/work/sqlite-100k [--database-url URL] [--explain]

Renders the list, a detail page and a search through Django's test client as bench-agent, and prints,
per page, the number of queries, the total SQL time and the three slowest statements; with --explain,
their EXPLAIN QUERY PLAN (SQLite) or EXPLAIN ANALYZE (PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import AGENT_USERNAME, configure  # noqa: E402
from bench.run import api_create_payload  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "sqlite"))
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--path", action="append", default=None, help="pages to probe")
    parser.add_argument("--api", action="store_true", help="also POST one ticket to /api/v1/tickets (adds a ticket)")
    args = parser.parse_args(argv)
    configure(args.database_url, args.data_dir)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kefu.accounts.models import User
    from kefu.tickets.models import Ticket

    settings.ALLOWED_HOSTS = ["*"]
    agent = User.objects.get(username=AGENT_USERNAME)
    client = Client()
    client.force_login(agent)
    mid = Ticket.objects.order_by("-id").values_list("id", flat=True)[Ticket.objects.count() // 2]
    paths = args.path or ["/console/tickets/", f"/console/tickets/{mid}/", "/console/tickets/?q=退款",
                          "/console/tickets/?q=refund", "/console/tickets/?q=重复扣款"]
    report = []
    requests: list[tuple[str, str]] = [("GET", p) for p in paths]
    if args.api:
        from kefu.accounts.services import issue_api_token

        _, secret = issue_api_token(agent, "probe", actor=agent)
        requests.append(("POST", "/api/v1/tickets"))
    for method, path in requests:
        def call(method: str = method, path: str = path) -> object:
            if method == "GET":
                return client.get(path)
            body = json.dumps(api_create_payload(0, random.Random(), 100))
            return Client().post(path, body, content_type="application/json",
                                 headers={"Authorization": f"Bearer {secret}"})

        call()  # warm
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = call()
            elapsed = time.perf_counter() - t0
        queries = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))
        entry = {"path": f"{method} {path}", "status": response.status_code, "ms": round(elapsed * 1000, 1),
                 "queries": len(queries), "sql_ms": round(sum(float(q["time"]) for q in queries) * 1000, 1),
                 "slowest": [{"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:600]} for q in queries[:3]]}
        if args.explain:
            for q in entry["slowest"][:2]:
                if not q["sql"].lstrip().upper().startswith("SELECT"):
                    continue  # EXPLAIN ANALYZE would execute a write again
                full = next(c["sql"] for c in queries if c["sql"].startswith(q["sql"][:600]))
                with connection.cursor() as cur:
                    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
                    try:
                        cur.execute(prefix + full)
                        q["plan"] = [" | ".join(str(c) for c in row) for row in cur.fetchall()]
                    except Exception as exc:
                        q["plan"] = [f"could not explain: {exc}"]
        report.append(entry)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
