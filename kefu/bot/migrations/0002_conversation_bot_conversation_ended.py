from django.db import migrations, models
from django.db.models import F


def end_handed_off(apps, schema_editor):
    """A hand-off now ends the assistant's conversation (ended_at); earlier ones get their hand-off moment."""
    conversation = apps.get_model("bot", "Conversation")
    conversation.objects.filter(outcome="handed_off", ended_at__isnull=True).update(ended_at=F("handed_off_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('bot', '0001_initial'),
        ('chat', '0002_bot_state'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(condition=models.Q(('ended_at__isnull', False)), fields=['ended_at', 'id'], name='bot_conversation_ended'),
        ),
        migrations.RunPython(end_handed_off, migrations.RunPython.noop),
    ]
