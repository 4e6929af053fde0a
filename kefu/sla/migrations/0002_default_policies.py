"""The default policy set of the design brief (DESIGN.md §1), loaded on first run; every number is editable.

Urgent and chat targets run in calendar time (24/7). The others run on the office calendar (Monday to
Friday 9:00–12:00 and 13:00–18:00, Asia/Shanghai, mainland China holidays and make-up days), where the
brief's day-sized targets are read as working days of 8 working hours: "24 h" = 8 h, "daily" = every
8 h, "72 h" = 24 h of working time. A Friday-evening request is then due on Monday, not on Saturday. The names are stored in English and
shown translated (gettext_noop marks them for the catalogs); names an admin types are shown as typed.
"""

from django.db import migrations
from django.utils.translation import gettext_noop

OFFICE_HOURS = {str(day): [[9 * 60, 12 * 60], [13 * 60, 18 * 60]] for day in range(5)}
HOUR = 60
WORKING_DAY = 8 * HOUR

DEFAULT_POLICIES = [
    {"name": gettext_noop("Urgent — chat and phone"), "position": 10, "priorities": ["urgent"], "channels": ["chat", "phone"],
     "first_response_minutes": 5, "update_every_minutes": 4 * HOUR, "business": False},
    {"name": gettext_noop("Urgent"), "position": 20, "priorities": ["urgent"],
     "first_response_minutes": 30, "update_every_minutes": 4 * HOUR, "business": False},
    {"name": gettext_noop("Complex"), "position": 30, "complexities": ["complex", "difficult"],
     "first_response_minutes": 4 * HOUR, "update_every_minutes": WORKING_DAY, "resolution_minutes": 3 * WORKING_DAY,
     "milestones": [
         {"name": "diagnosis", "minutes": 1 * HOUR, "starts_on": "accepted", "met_on": ["note_added", "replied"]},
         {"name": "solution_plan", "minutes": WORKING_DAY, "starts_on": "accepted",
          "met_on": ["solutions_proposed"]},
     ],
     "breach_action": "raise_priority", "business": True},
    {"name": gettext_noop("Simple consultation — chat"), "position": 40, "channels": ["chat"], "complexities": ["simple"],
     "first_response_minutes": 1, "resolution_minutes": 4 * HOUR, "business": False},
    {"name": gettext_noop("Important and regular"), "position": 50, "priorities": ["high", "normal"],
     "first_response_minutes": 2 * HOUR, "resolution_minutes": WORKING_DAY, "breach_action": "raise_priority",
     "business": True},
    {"name": gettext_noop("General"), "position": 60, "first_response_minutes": WORKING_DAY, "business": True},
]


def load_defaults(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    if SlaPolicy.objects.exists():
        return
    office, _ = BusinessCalendar.objects.get_or_create(
        name="Office hours (mainland China)",
        defaults={"time_zone": "Asia/Shanghai", "week": OFFICE_HOURS, "china_holidays": True},
    )
    for spec in DEFAULT_POLICIES:
        spec = dict(spec)
        business = spec.pop("business")
        SlaPolicy.objects.create(calendar=office if business else None, **spec)


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
