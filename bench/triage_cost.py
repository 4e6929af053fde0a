"""Benchmark: what triage adds to a ticket's intake, per call, on realistic mixed Chinese/English messages.

    PYTHONPATH=. .venv/bin/python bench/triage_cost.py [--messages 2000] [--rounds 5]

Generates messages with ``bench/text.py`` (seeded), runs ``kefu.assist.triage.triage`` on each (subject +
body of 200–800 characters), and prints one JSON line: the median over rounds of the per-call median and
p95 in milliseconds. Compare with the intake figures in docs/performance.md ("Channels": about 4 ms of a
message's 4–5 ms on SQLite is the write path).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import text  # noqa: E402
from kefu.assist.triage import triage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    messages = [(text.subject(rng), text.body(rng, agent=False)) for _ in range(args.messages)]
    medians, p95s = [], []
    for _round in range(args.rounds):
        timings = []
        for subject, body in messages:
            started = time.perf_counter()
            triage(subject, body, recent_contacts=rng.randint(0, 3))
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        medians.append(statistics.median(timings))
        p95s.append(timings[int(len(timings) * 0.95)])
    print(json.dumps({"messages": args.messages, "rounds": args.rounds,
                      "median_ms": round(statistics.median(medians), 3),
                      "p95_ms": round(statistics.median(p95s), 3),
                      "mean_chars": round(statistics.mean(len(s) + len(b) for s, b in messages))}))


if __name__ == "__main__":
    main()
