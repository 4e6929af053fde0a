"""CPU per API ticket creation, split between this Python process and the database server.

    python bench/intake_cpu.py --data-dir bench/work/sqlite-100k [--database-url URL] [--creates 1500]

Throughput on this shared 2-core machine swings by a third from one minute to the next (other tenants'
processes take CPU), so comparing two versions of the write path by tickets/s needs many runs. CPU time
per request does not depend on who else runs: this posts tickets one after another through Django's
test client (the whole middleware and API stack, with a bearer token, no HTTP server) and reports this
process's CPU time per create and, on PostgreSQL, the server backend's (from /proc of its pid, so the
database must run on this machine). The same payloads as bench/run.py; it adds tickets to the database.
"""

from __future__ import annotations

import argparse
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
from bench.generate import AGENT_USERNAME, configure  # noqa: E402
from bench.run import api_create_payload  # noqa: E402


def backend_cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "sqlite"))
    parser.add_argument("--creates", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3, help="the creates are split into rounds; median reported")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    configure(args.database_url, args.data_dir)
    os.environ["KEFU_DB_POOL_SIZE"] = "1"  # one backend, so its pid is the one doing the work

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from kefu.accounts.models import User
    from kefu.accounts.services import issue_api_token
    from kefu.customers.models import Customer

    agent = User.objects.get(username=AGENT_USERNAME)
    _, secret = issue_api_token(agent, "bench-cpu", actor=agent)
    customers = Customer.objects.filter(email__endswith="@bench.example").count()
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    rng = random.Random(args.seed)

    def create(i: int) -> None:
        response = client.post("/api/v1/tickets", data=api_create_payload(i, rng, customers),
                               content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"create failed: {response.status_code} {response.content[:300]!r}")

    for i in range(50):  # warm-up: caches, compiled statements, the pool's connection
        create(-i - 1)
    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    per_round = max(1, args.creates // args.rounds)
    rounds: list[dict[str, float]] = []
    for r in range(args.rounds):
        wall, cpu, db = time.perf_counter(), time.process_time(), backend_cpu_seconds(backend)
        for i in range(per_round):
            create(r * per_round + i)
        rounds.append({
            "python_ms": (time.process_time() - cpu) * 1000 / per_round,
            "database_ms": (backend_cpu_seconds(backend) - db) * 1000 / per_round,
            "wall_ms": (time.perf_counter() - wall) * 1000 / per_round,
        })
    result: dict[str, Any] = {
        "database": connection.vendor, "machine": machine.describe(), "creates_per_round": per_round,
        "rounds": rounds,
        "median": {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]},
        "command": "python bench/intake_cpu.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
