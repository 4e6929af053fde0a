"""15,000 bell alerts inserted in a rolled-back transaction, by COPY (kefu.core.bulk.insert_rows) and as arrays
through unnest(), three times each, on the settled sweep database (kefu_sweep2).

    python bench/results/sla-sweep-2026-12-05/unnest_vs_copy.py
"""
import sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from bench.generate import configure
configure("postgres://postgres@127.0.0.1:5432/kefu_sweep2", "bench/work/sweep-pg2")
import django; django.setup()
from django.db import transaction, connections
from kefu.core.clock import now
from kefu.core.bulk import insert_rows
from kefu.core.prepared import statement_cursor
from kefu.notifications.models import StaffAlert
from kefu.accounts.models import User
users = list(User.objects.values_list("pk", flat=True)[:5])
m = now()
rows = [(users[i % len(users)], 1000 + i, "sla_warning", f"First response on #{1000+i} is due at 2026-12-05 10:{i%60:02d}.", m) for i in range(15000)]
def copy_way():
    insert_rows(StaffAlert, ["user", "ticket_id", "kind", "text", "created_at"], rows)
def unnest_way():
    real = connections["default"]
    cols = list(zip(*rows))
    with statement_cursor(real) as cur:
        cur.execute("INSERT INTO notifications_staffalert (user_id, ticket_id, kind, text, created_at) "
                    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::timestamptz[])",
                    [list(cols[0]), list(cols[1]), list(cols[2]), list(cols[3]), list(cols[4])])
for name, fn in [("copy", copy_way), ("unnest", unnest_way)] * 3:
    with transaction.atomic():
        t0 = time.perf_counter(); fn(); t = time.perf_counter() - t0
        transaction.set_rollback(True)
    print(name, round(t * 1000, 1), "ms")
