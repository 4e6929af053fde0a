"""Profile the console ticket page in process (dev scratch)."""
import cProfile, pstats, random, sys, time
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
import os
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.db import connection
from django.test.utils import CaptureQueriesContext
from kefu.accounts.models import User
from kefu.tickets.models import Ticket
settings.ALLOWED_HOSTS = ["*"]
agent = User.objects.get(username=AGENT_USERNAME)
c = Client(); c.force_login(agent)
hi = Ticket.objects.order_by("-id").values_list("id", flat=True).first()
rng = random.Random(7)
ids = [rng.randint(1, hi) for _ in range(80)]
path = sys.argv[2] if len(sys.argv) > 2 else "/console/tickets/{}/"
for i in ids[:10]: c.get(path.format(i))
times = []
for i in ids[10:40]:
    t = time.perf_counter(); r = c.get(path.format(i)); times.append((time.perf_counter()-t)*1000)
times.sort(); print("median", round(times[len(times)//2],1), "p95", round(times[int(len(times)*.95)],1), r.status_code, len(r.content))
with CaptureQueriesContext(connection) as ctx:
    c.get(path.format(ids[41]))
print("queries", len(ctx.captured_queries), "sql ms", round(sum(float(q["time"]) for q in ctx.captured_queries)*1000,1))
for q in sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:8]:
    print(" ", q["time"], q["sql"][:200])
pr = cProfile.Profile(); pr.enable()
for i in ids[40:80]: c.get(path.format(i))
pr.disable()
st = pstats.Stats(pr); st.sort_stats("cumulative").print_stats(os.environ.get("PAT","kefu"), 60)
