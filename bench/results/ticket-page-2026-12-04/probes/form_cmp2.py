import sys, os, time, re
sys.path.insert(0, "/work/main")
from bench.generate import configure
configure(None, sys.argv[1])
import django; django.setup()
from django import forms as dj
from kefu.web.console import forms
from kefu.tickets.models import Ticket
t = Ticket.objects.get(pk=500)
init = {"subject": t.subject, "category": t.category_id, "priority": t.priority, "complexity": t.complexity, "team": t.team_id, "tags": "", **t.five_w_one_h}
f = forms.TicketUpdateForm(initial=init); new = str(f.as_div())
class Old(forms.TicketUpdateForm):
    template_name_div = "django/forms/div.html"
f = Old(initial=init)
for n in ("category","priority","complexity","team"): f.fields[n].widget = dj.Select(choices=f.fields[n].widget.choices)
old = str(f.as_div())
norm = lambda h: re.sub(r"\s+", " ", h).replace("> <", "><").replace("> ", ">").replace(" <", "<")
print(norm(old) == norm(new))
if norm(old) != norm(new):
    import difflib; print("\n".join(difflib.unified_diff(norm(old).split("><"), norm(new).split("><"), lineterm="")))
for cls in (Old, forms.TicketUpdateForm):
    ts=[]
    for i in range(40):
        a=time.perf_counter(); str(cls(initial=init).as_div()); ts.append((time.perf_counter()-a)*1000)
    ts.sort(); print(cls.__name__, "median %.2f" % ts[20])
