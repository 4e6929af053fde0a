"""What machine a benchmark ran on, and how fast its processor was that minute.

The machines these benchmarks run on differ by up to 2x from one day to the next (the reference loop took
0.48 s on 2026-12-04, and 0.64-1.02 s within one session on 2026-12-05). Every result records the loop's
time, so that a figure can be held against one of another day only with that factor in mind.
"""

from __future__ import annotations

import os
import platform
import statistics
import timeit
from typing import Any

REFERENCE_LOOP = "sum(i * i for i in range(10**7))"


def reference_loop_seconds(runs: int = 3) -> float:
    """The median time of a fixed pure-Python loop: lower is a faster machine."""
    return round(statistics.median(timeit.repeat(REFERENCE_LOOP, number=1, repeat=runs)), 3)


def describe() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "reference_loop": REFERENCE_LOOP, "reference_loop_s": reference_loop_seconds()}
