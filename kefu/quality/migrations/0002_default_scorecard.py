"""The default scorecard: seven weighted criteria; a zero on a critical one fails the review."""

from django.db import migrations

CRITERIA = [
    # key, English, Chinese, weight, critical
    ("greeting", "Greeting", "开场问候", 10, False),
    ("identity_verification", "Identity verification", "身份核验", 15, True),
    ("need_confirmed", "Need confirmed", "需求确认", 15, False),
    ("empathy", "Empathy", "同理心", 10, False),
    ("solution_correctness", "Correctness of the solution", "解决方案正确性", 25, True),
    ("process_compliance", "Process compliance", "流程合规", 15, False),
    ("closing", "Closing", "结束语", 10, False),
]


def create(apps, schema_editor):
    Scorecard = apps.get_model("quality", "Scorecard")
    Criterion = apps.get_model("quality", "Criterion")
    card, created = Scorecard.objects.get_or_create(name="Standard", defaults={"pass_mark": 80, "active": True})
    if created:
        Criterion.objects.bulk_create([
            Criterion(scorecard=card, key=key, name_en=en, name_zh=zh, weight=weight, position=n, critical=critical)
            for n, (key, en, zh, weight, critical) in enumerate(CRITERIA, start=1)])


def remove(apps, schema_editor):
    apps.get_model("quality", "Scorecard").objects.filter(name="Standard", reviews__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
