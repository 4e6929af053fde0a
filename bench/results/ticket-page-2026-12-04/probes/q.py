import sys, os, re, collections
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.conf import settings; settings.ALLOWED_HOSTS=["*"]
from django.test import Client
from django.db import connection
from django.test.utils import CaptureQueriesContext
from kefu.accounts.models import User
agent = User.objects.get(username=AGENT_USERNAME)
c = Client(); c.force_login(agent)
path = sys.argv[2]
c.get(path)
with CaptureQueriesContext(connection) as ctx:
    c.get(path)
for q in ctx.captured_queries:
    sql = q["sql"]
    m = re.search(r'FROM "(\w+)"', sql)
    print(q["time"], (m.group(1) if m else sql[:40]), sql[sql.find(" WHERE "):][:150] if " WHERE " in sql else "")
