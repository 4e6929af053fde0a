import sys, os, time
sys.path.insert(0, "/work/main")
from bench.generate import configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.db import connection
from kefu.tickets.models import TicketEvent, Message
def t(label, f, n=300):
    for _ in range(20): f()
    a=time.perf_counter()
    for _ in range(n): f()
    print(f"{label:40s} {(time.perf_counter()-a)*1000/n:.3f} ms")
with connection.cursor() as c:
    t("raw SELECT 1", lambda: (c.execute("SELECT 1"), c.fetchall()))
    t("raw events of a ticket", lambda: (c.execute("SELECT * FROM tickets_ticketevent WHERE ticket_id = %s ORDER BY at, id", [50000]), c.fetchall()))
t("ORM events list", lambda: list(TicketEvent.objects.filter(ticket_id=50000).select_related("actor").order_by("at","id")))
t("ORM messages list", lambda: list(Message.objects.filter(ticket_id=50000).order_by("created_at","id")))
t("ORM messages compile only", lambda: str(Message.objects.filter(ticket_id=50000).order_by("created_at","id").query))
