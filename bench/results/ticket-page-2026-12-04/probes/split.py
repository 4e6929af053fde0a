import sys, os, time, random, collections
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.conf import settings; settings.ALLOWED_HOSTS=["*"]
from django.test import Client
from kefu.accounts.models import User
from kefu.tickets.models import Ticket
import kefu.web.console.views as v
acc = collections.defaultdict(list)
def timed(name, f):
    def w(*a, **k):
        t=time.perf_counter()
        try: return f(*a, **k)
        finally: acc[name].append((time.perf_counter()-t)*1000)
    return w
for name in ["render", "_later_stage_panels", "_ticket_or_404", "triage_rows"]:
    setattr(v, name, timed(name, getattr(v, name)))
for mod, name in [(v.selectors, "timeline"), (v.selectors, "customer_history"), (v.selectors, "visible_messages"), (v.sla_selectors, "clocks_of"), (v.inbox_selectors,"held_for_ticket"), (v.inbox_selectors,"authentication_of_messages"), (v.sla_selectors,"policy_of")]:
    setattr(mod, name, timed(name, getattr(mod, name)))
from django.core.handlers import base
orig = v.ticket_detail
agent = User.objects.get(username=AGENT_USERNAME)
c = Client(); c.force_login(agent)
hi = Ticket.objects.order_by("-id").values_list("id", flat=True).first()
rng = random.Random(7)
ids = [rng.randint(1, hi) for _ in range(80)]
tot=[]
for i in ids:
    t=time.perf_counter(); c.get(f"/console/tickets/{i}/"); tot.append((time.perf_counter()-t)*1000)
def med(x): x=sorted(x[10:]); return x[len(x)//2]
print("total", round(med(tot),1))
for k, x in acc.items(): print(f"{k:28s} {med(x):.2f}")
