"""One full sweep of the due clocks, timed by part (claim, inserts, alerts, escalation, commit).

    python bench/results/sla-sweep-2026-12-05/sweep_parts.py DATABASE_URL DATA_DIR
"""
import sys, time, collections, os
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from bench.generate import configure
configure(sys.argv[1], sys.argv[2])
import django
django.setup()
from django.db import connection
from bench.sla_sweep import _rearm_swept
from kefu.core.clock import now
from kefu.sla import services
import kefu.notifications.services as ns
print("rearmed", _rearm_swept())
acc = collections.Counter()
def timed(name, fn):
    def inner(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            acc[name] += time.perf_counter() - t0
    return inner
services._claim_due = timed("claim", services._claim_due)
services.insert_rows = timed("insert events", services.insert_rows)
services._alert_for_sweep = timed("alerts total", services._alert_for_sweep)
services.alert_staff_many = timed("alert_staff_many", services.alert_staff_many)
ns.insert_rows = timed("alerts+notif inserts", ns.insert_rows)
services._escalate_breaches = timed("escalate", services._escalate_breaches)
services.queue_webhooks = timed("webhooks", services.queue_webhooks)
from django.db.backends.base import base
orig_commit = base.BaseDatabaseWrapper.commit
base.BaseDatabaseWrapper.commit = timed("commit", orig_commit)
m = now()
if os.environ.get("ASYNC"):
    from django.db import connection as _c
    _c.cursor().execute("SET synchronous_commit = off")
import os
if os.environ.get("BATCH"): services.SWEEP_BATCH = int(os.environ["BATCH"]); services.sweep.__defaults__ = (None, services.SWEEP_BATCH)
t0 = time.perf_counter(); n = 0
while True:
    k = services.sweep(m); n += k
    if k < services.SWEEP_BATCH: break
total = time.perf_counter() - t0
print(f"handled {n} total {total*1000:.0f} ms")
for k, v in acc.most_common(): print(f"{v*1000:8.1f} ms {k}")
