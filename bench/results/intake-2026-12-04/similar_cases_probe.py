"""Time the assist panel's similar cases on a loaded bench database: python similar_cases_probe.py DATA_DIR
(DBURL=postgres://… for PostgreSQL; PKS=comma-separated ticket ids). Run from the project root."""
import os, sys, time
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.db import connection
from kefu.accounts.models import User
from kefu.assist import selectors as s
from kefu.tickets.models import Ticket
agent = User.objects.get(username=AGENT_USERNAME)
for pk in [int(x) for x in os.environ.get("PKS", "5,50005,99005").split(",")]:
    t = Ticket.objects.get(pk=pk)
    w = s._distinctive_tokens(t)
    t0 = time.perf_counter(); ids = s._candidate_ids(w); t1 = time.perf_counter()
    cases = s.similar_cases(agent, t); t2 = time.perf_counter()
    summ = s._resolution_summaries([c.ticket.pk for c in cases]); t3 = time.perf_counter()
    print(pk, len(w), "cand ms %.1f" % ((t1-t0)*1000), "similar ms %.1f" % ((t2-t1)*1000), "summ ms %.1f" % ((t3-t2)*1000), len(ids), [c.similarity for c in cases])
with connection.cursor() as c:
    if connection.vendor == "sqlite":
        c.execute("EXPLAIN QUERY PLAN SELECT * FROM tickets_ticketevent WHERE ticket_id IN (1,2,3) AND type='status_changed' AND json_extract(payload, '$.action') = 'resolve' ORDER BY ticket_id, at DESC")
        print(c.fetchall())
