"""Prints the fifth session's runs as the tables in docs/performance.md:
python bench/results/intake-2026-12-05e/table.py"""

import json
from pathlib import Path

HERE = Path(__file__).parent


def per_creation(op: dict) -> str:
    n = op["created"]
    web = sum(op["server_cpu_s"].values())
    return f"{web * 1000 / n:.2f} · {op['postgres_cpu_s'] * 1000 / n:.2f} · {op['client_cpu_s'] * 1000 / n:.2f}"


def row(name: str) -> str:
    d = json.loads((HERE / f"{name}.json").read_text())
    ops = d["operations"]
    cells = [f"{ops[k]['median_ms']} / {ops[k]['p95_ms']}" if k in ops else "" for k in ("list", "detail", "search")]
    create = ops["api_create"]
    return " | ".join([name, f"{d['machine']['reference_loop_s']} s", *cells, f"{ops['api_me']['per_s']:,}/s",
                       f"**{create['tickets_per_s']}/s**", f"{create['median_ms']} / {create['p95_ms']}",
                       per_creation(create), f"{create['machine_busy_s']:.1f} / {create['machine_idle_s']:.1f}"])


print("run | ref. loop | list | ticket page | search | GET /me | API creation | creation median / p95 ms"
      " | per creation: web · PostgreSQL · client CPU ms | machine busy / idle s")
for name in ["postgres-1000000-1", "ab-before-1", "ab-after-1", "ab-before-2", "ab-after-2", "ab-before-3",
             "ab-after-3", "postgres-1000000-2", "postgres-1000000-3"]:
    print(row(name))
