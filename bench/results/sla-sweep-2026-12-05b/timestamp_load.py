# 10,000 due times read as timestamptz (psycopg through Django's loader) against ISO text parsed by fromisoformat().
#   python bench/results/sla-sweep-2026-12-05b/timestamp_load.py   (on the 1M sweep database kefu_sweep)
import sys, time, statistics; sys.path.insert(0, "/work/main")
from bench.generate import configure
configure("postgres://postgres@127.0.0.1:5432/kefu_sweep", "/work/main/bench/work/sweep-pg")
import django; django.setup()
import datetime as dt
from django.db import connection
def run(sql, conv=lambda r: r):
    ts = []
    for _ in range(5):
        with connection.cursor() as c:
            c.execute(sql); t = time.perf_counter(); rows = c.fetchall(); [conv(r) for r in rows]; ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000
a = run("SELECT due_at FROM sla_ticketclock WHERE due_at IS NOT NULL LIMIT 10000")
b = run("SELECT to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00' FROM sla_ticketclock WHERE due_at IS NOT NULL LIMIT 10000",
        lambda r: dt.datetime.fromisoformat(r[0]))
print(f"timestamptz loaded: {a:.1f} ms per 10k; ISO text + fromisoformat: {b:.1f} ms per 10k")
