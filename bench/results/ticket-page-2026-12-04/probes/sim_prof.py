import sys, os, time, random
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from kefu.accounts.models import User
from kefu.tickets.models import Ticket, TicketSearchDocument
from kefu.tickets.selectors import visible_tickets
from kefu.assist import selectors as s
agent = User.objects.get(username=AGENT_USERNAME)
hi = Ticket.objects.order_by("-id").values_list("id", flat=True).first()
rng = random.Random(3)
tick = [Ticket.objects.get(pk=rng.randint(1, hi)) for _ in range(20)]
def t(label, f):
    ts=[]
    for tk in tick:
        a=time.perf_counter(); r=f(tk); ts.append((time.perf_counter()-a)*1000)
    ts.sort(); print(f"{label:30s} median {ts[10]:.1f} max {ts[-1]:.1f}")
    return r
t("tokens", lambda tk: s._distinctive_tokens(tk))
pass
t("similar_cases", lambda tk: s.similar_cases(agent, tk))
t("articles", lambda tk: s.suggested_articles(agent, tk))
t("templates", lambda tk: s.suggested_templates(agent, tk, tracking_url="x"))
