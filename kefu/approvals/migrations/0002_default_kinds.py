"""The default decision kinds and limits (CNY), loaded on first run; administrators edit them in the console
(console/authority/). Agents decide small amounts alone; supervisors ten times as much; above that an
administrator approves."""

from decimal import Decimal

from django.db import migrations

DEFAULT_KINDS = [
    # key, English, Chinese, agent limit, supervisor limit
    ("refund", "Refund", "退款", "200", "2000"),
    ("compensation", "Compensation", "赔偿", "100", "1000"),
    ("goodwill-credit", "Goodwill credit", "补偿积分/代金券", "50", "500"),
    ("replacement", "Replacement", "换货补发", "300", "3000"),
    ("fee-waiver", "Fee waiver", "费用减免", "100", "1000"),
]


def load_defaults(apps, schema_editor):
    DecisionKind = apps.get_model("approvals", "DecisionKind")
    AuthorityLimit = apps.get_model("approvals", "AuthorityLimit")
    for position, (key, name_en, name_zh, agent, supervisor) in enumerate(DEFAULT_KINDS, start=1):
        kind, created = DecisionKind.objects.get_or_create(
            key=key, defaults={"name_en": name_en, "name_zh": name_zh, "position": position * 10})
        if created:
            AuthorityLimit.objects.create(kind=kind, role="agent", max_amount=Decimal(agent))
            AuthorityLimit.objects.create(kind=kind, role="supervisor", max_amount=Decimal(supervisor))


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_defaults, migrations.RunPython.noop),
    ]
