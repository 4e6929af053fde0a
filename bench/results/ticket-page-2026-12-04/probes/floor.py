import sys, os, time
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.conf import settings; settings.ALLOWED_HOSTS=["*"]
from django.test import Client
from kefu.accounts.models import User
agent = User.objects.get(username=AGENT_USERNAME)
c = Client(); c.force_login(agent)
for p in sys.argv[2:]:
    for _ in range(10): c.get(p)
    ts=[]
    for _ in range(60):
        t=time.perf_counter(); r=c.get(p); ts.append((time.perf_counter()-t)*1000)
    ts.sort(); print(p, r.status_code, "median %.1f" % ts[30], "p95 %.1f" % ts[57])
