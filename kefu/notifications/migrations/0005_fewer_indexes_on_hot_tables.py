import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0004_templates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The columns keep their indexes under other names (composite or partial indexes): the old
        # single-column ones are dropped by name. AlterField alone would make SQLite copy each table
        # (and its millions of rows) once per field.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS notifications_staffalert_user_id_50faae28",
                    reverse_sql='CREATE INDEX notifications_staffalert_user_id_50faae28 ON "notifications_staffalert" ("user_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='staffalert',
                    name='user',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to=settings.AUTH_USER_MODEL),
                ),
            ],
        ),
    ]
