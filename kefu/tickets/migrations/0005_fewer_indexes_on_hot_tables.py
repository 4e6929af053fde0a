import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_last_assigned_at'),
        ('customers', '0001_initial'),
        ('tickets', '0004_search_index_merges_off_the_write_path'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The columns keep their indexes under other names (composite or partial indexes): the old
        # single-column ones are dropped by name. AlterField alone would make SQLite copy each table
        # (and its millions of rows) once per field.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_message_ticket_id_a1134910",
                    reverse_sql='CREATE INDEX tickets_message_ticket_id_a1134910 ON "tickets_message" ("ticket_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_ticket_chosen_solution_id_c4cc0e21",
                    reverse_sql='CREATE INDEX tickets_ticket_chosen_solution_id_c4cc0e21 ON "tickets_ticket" ("chosen_solution_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_ticket_fix_verified_by_id_3e3892d9",
                    reverse_sql='CREATE INDEX tickets_ticket_fix_verified_by_id_3e3892d9 ON "tickets_ticket" ("fix_verified_by_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_ticket_identity_verified_by_id_84d7fd64",
                    reverse_sql='CREATE INDEX tickets_ticket_identity_verified_by_id_84d7fd64 ON "tickets_ticket" ("identity_verified_by_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_ticket_merged_into_id_3a36ad40",
                    reverse_sql='CREATE INDEX tickets_ticket_merged_into_id_3a36ad40 ON "tickets_ticket" ("merged_into_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_ticketevent_actor_id_2a65fff2",
                    reverse_sql='CREATE INDEX tickets_ticketevent_actor_id_2a65fff2 ON "tickets_ticketevent" ("actor_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS tickets_ticketevent_ticket_id_b572d14b",
                    reverse_sql='CREATE INDEX tickets_ticketevent_ticket_id_b572d14b ON "tickets_ticketevent" ("ticket_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='message',
                    name='ticket',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='tickets.ticket'),
                ),
                migrations.AlterField(
                    model_name='ticket',
                    name='chosen_solution',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tickets.solutionoption'),
                ),
                migrations.AlterField(
                    model_name='ticket',
                    name='fix_verified_by',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='ticket',
                    name='identity_verified_by',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='ticket',
                    name='merged_into',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='merged_tickets', to='tickets.ticket'),
                ),
                migrations.AlterField(
                    model_name='ticketevent',
                    name='actor',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='ticketevent',
                    name='ticket',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='tickets.ticket'),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('identity_verified_by__isnull', False)), fields=['identity_verified_by'], name='ticket_identity_verified_by'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('fix_verified_by__isnull', False)), fields=['fix_verified_by'], name='ticket_fix_verified_by'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('chosen_solution__isnull', False)), fields=['chosen_solution'], name='ticket_chosen_solution'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('merged_into__isnull', False)), fields=['merged_into'], name='ticket_merged_into'),
        ),
        migrations.AddIndex(
            model_name='ticketevent',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='event_actor'),
        ),
    ]
