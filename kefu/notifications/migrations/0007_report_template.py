"""The weekly and monthly reports' mail (kefu.analytics.reports): report."""

from django.db import migrations, models

TEMPLATES = ["ticket_received", "ticket_update", "login_link", "staff_alert", "survey", "survey_reminder",
             "survey_thanks", "report"]


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0006_survey_templates"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notificationtemplate",
            name="template",
            field=models.CharField(choices=[(t, t) for t in TEMPLATES], max_length=64, verbose_name="message"),
        ),
    ]
