"""A/B in one process: API creations with intake's writes sent together (kefu.core.bulk.together) and
apart (the block replaced by a no-op), alternating in blocks (ABBA order) so that the machine's drift falls
on both alike. Python CPU from this process, PostgreSQL's from the backend's /proc entry (one connection).
Adds tickets to the database, as bench/intake_cpu.py does.

    python bench/results/intake-2026-12-05d/ab_together.py \
        --database-url postgres://postgres@127.0.0.1:5432/kefu_bench1m --data-dir bench/work/pg-1m \
        --blocks 40 --per-block 50 --out /tmp/ab.json
"""

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.generate import AGENT_USERNAME, configure  # noqa: E402
from bench.intake_cpu import backend_cpu_seconds  # noqa: E402
from bench.run import api_create_payload  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--database-url", required=True)
parser.add_argument("--data-dir", required=True)
parser.add_argument("--blocks", type=int, default=40, help="blocks per side")
parser.add_argument("--per-block", type=int, default=50)
parser.add_argument("--out")
args = parser.parse_args()
configure(args.database_url, args.data_dir)
os.environ["KEFU_DB_POOL_SIZE"] = "1"  # one backend, so its pid is the one doing the work

import django  # noqa: E402

django.setup()
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from kefu.accounts.models import User  # noqa: E402
from kefu.accounts.services import issue_api_token  # noqa: E402
from kefu.customers.models import Customer  # noqa: E402
from kefu.tickets import services  # noqa: E402

agent = User.objects.get(username=AGENT_USERNAME)
_, secret = issue_api_token(agent, "bench-ab-together", actor=agent)
customers = Customer.objects.filter(email__endswith="@bench.example").count()
client = Client(headers={"Authorization": f"Bearer {secret}"})
rng = random.Random(7)
together = services.together
sent = 0


def create() -> None:
    global sent
    sent += 1
    response = client.post("/api/v1/tickets", data=api_create_payload(sent, rng, customers),
                           content_type="application/json")
    if response.status_code != 201:
        raise SystemExit(f"create failed: {response.status_code} {response.content[:300]!r}")


for _ in range(100):  # warm-up
    create()
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
blocks: dict[str, list[tuple[float, float]]] = {"together": [], "apart": []}
for block in range(args.blocks * 2):
    first = "together" if (block // 2) % 2 == 0 else "apart"
    mode = first if block % 2 == 0 else ("apart" if first == "together" else "together")
    services.together = together if mode == "together" else contextlib.nullcontext  # type: ignore[assignment]
    cpu, db = time.process_time(), backend_cpu_seconds(backend)
    for _ in range(args.per_block):
        create()
    blocks[mode].append(((time.process_time() - cpu) * 1000 / args.per_block,
                         (backend_cpu_seconds(backend) - db) * 1000 / args.per_block))
paired = list(zip(blocks["together"], blocks["apart"], strict=True))
out = {
    "machine": machine.describe(), "blocks_per_side": args.blocks, "creations_per_block": args.per_block,
    "median_ms": {mode: {"python": round(statistics.median(b[0] for b in rows), 3),
                         "database": round(statistics.median(b[1] for b in rows), 3)}
                  for mode, rows in blocks.items()},
    "paired_difference_ms": {  # together minus apart, block pair by block pair
        "python_median": round(statistics.median(t[0] - a[0] for t, a in paired), 3),
        "total_median": round(statistics.median(t[0] + t[1] - a[0] - a[1] for t, a in paired), 3),
        "total_mean": round(statistics.mean(t[0] + t[1] - a[0] - a[1] for t, a in paired), 3),
    },
    "blocks": blocks,
    "command": "python " + " ".join(sys.argv),
}
print(json.dumps({k: v for k, v in out.items() if k != "blocks"}, indent=1))
if args.out:
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
