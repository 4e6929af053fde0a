# Python-only time of the sweep's alert path for 10,050 clocks (inserts stubbed out), median of 5
import sys, time, statistics, datetime as dt; import os; sys.path.insert(0, os.environ.get("ROOT", "/work/main"))
from bench.generate import configure
configure("postgres://postgres@127.0.0.1:5432/kefu_sweep", "/work/main/bench/work/sweep-pg")
import django; django.setup()
from kefu.sla import services
import kefu.notifications.services as ns
from kefu.accounts.models import User
from kefu.core.clock import now
agent = User.objects.get(username="sweep-agent"); team = agent.departments.first()
m = now()
clocks = [services.DueClock(i, 1000 + i, "first_response", "", m - dt.timedelta(seconds=i), team.pk, agent.pk, i % 2 == 0, None)
          for i in range(10050)]
rows = {}
def fake_insert(model, fields, data):
    data = list(data); rows[model.__name__] = len(data); return len(data)
ns.insert_rows = fake_insert
times = []
import cProfile, pstats, os
if os.environ.get("PROF"):
    pr = cProfile.Profile(); pr.enable(); services._alert_for_sweep([c for c in clocks if not c.breached], [c for c in clocks if c.breached]); pr.disable(); pstats.Stats(pr).sort_stats("tottime").print_stats(20)
for _ in range(5):
    (getattr(services, "_format_minute", None) or services._local_minute).cache_clear()
    t = time.perf_counter(); services._alert_for_sweep([c for c in clocks if not c.breached], [c for c in clocks if c.breached]); times.append(time.perf_counter() - t)
print(rows, "median ms", round(statistics.median(times) * 1000, 1), [round(x * 1000) for x in times])
