"""One sweep of 991 re-armed clocks under cProfile, on a sweep database loaded by bench/sla_sweep.py.

    python bench/results/sla-sweep-2026-12-05c/profile_sweep.py sqlite bench/work/sweep-sqlite
    python bench/results/sla-sweep-2026-12-05c/profile_sweep.py postgres://postgres@127.0.0.1:5432/kefu_sweep \\
        bench/work/sweep-pg
"""

import cProfile
import datetime as dt
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from bench.generate import configure

configure(None if sys.argv[1] == "sqlite" else sys.argv[1], sys.argv[2])
import django  # noqa: E402

django.setup()
from bench import sla_sweep  # noqa: E402
from kefu.core.clock import now  # noqa: E402
from kefu.sla import services  # noqa: E402

sla_sweep._rearm_swept(991)
moment = now()
services.due_clocks(moment - dt.timedelta(days=1))  # the connection and the statements, outside the profile
profile = cProfile.Profile()
started = time.perf_counter()
profile.enable()
swept = services.sweep(moment)
profile.disable()
print("swept", swept, "in", round(time.perf_counter() - started, 3), "s")
pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
