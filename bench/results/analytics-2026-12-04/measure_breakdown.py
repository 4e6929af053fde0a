import os, sys, time, statistics, datetime as dt
sys.path.insert(0, "/work/main")
from bench import generate
generate.configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.utils import timezone
from kefu.accounts.models import User
from kefu.analytics import selectors
from kefu.core.clock import now
actor = User.objects.get(username=generate.ADMIN_USERNAME)
today = timezone.localdate(now())
for dim in ("agent", "category", "team"):
    f = lambda: selectors.breakdown(actor, dim, today - dt.timedelta(days=364), today, selectors.TABLE_METRICS)
    f(); ts = []
    for _ in range(30):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1000)
    ts.sort(); print(dim, "365 days: p50 %.1f ms, p95 %.1f ms" % (statistics.median(ts), ts[round(0.95 * 29)]))
