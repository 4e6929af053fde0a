import sys, os, time, random
sys.path.insert(0, "/work/main")
from bench.generate import AGENT_USERNAME, configure
configure(os.environ.get("DBURL") or None, sys.argv[1])
import django; django.setup()
from django.conf import settings; settings.ALLOWED_HOSTS=["*"]
from django.test import Client
from django.forms import utils
from kefu.accounts.models import User
acc=[0.0,0]
o = utils.RenderableFormMixin.as_div
def w(self):
    t=time.perf_counter(); r=o(self); acc[0]+=time.perf_counter()-t; acc[1]+=1; return r
utils.RenderableFormMixin.as_div = w
agent = User.objects.get(username=AGENT_USERNAME)
c = Client(); c.force_login(agent)
rng = random.Random(7)
for _ in range(10): c.get(f"/console/tickets/{rng.randint(1, 99000)}/")
acc[:] = [0.0, 0]
t=time.perf_counter()
for _ in range(60): c.get(f"/console/tickets/{rng.randint(1, 99000)}/")
print("page %.1f ms, as_div %.1f ms x %d" % ((time.perf_counter()-t)*1000/60, acc[0]*1000/60, acc[1]/60))
