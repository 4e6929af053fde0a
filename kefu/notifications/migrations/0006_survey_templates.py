"""The satisfaction survey's messages (kefu.feedback): survey, survey_reminder, survey_thanks."""

from django.db import migrations, models

TEMPLATES = ["ticket_received", "ticket_update", "login_link", "staff_alert", "survey", "survey_reminder",
             "survey_thanks"]


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0005_fewer_indexes_on_hot_tables"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notificationtemplate",
            name="template",
            field=models.CharField(choices=[(t, t) for t in TEMPLATES], max_length=64, verbose_name="message"),
        ),
    ]
