import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0003_at_risk_index'),
        ('tickets', '0004_search_index_merges_off_the_write_path'),
    ]

    operations = [
        # The columns keep their indexes under other names (composite or partial indexes): the old
        # single-column ones are dropped by name. AlterField alone would make SQLite copy each table
        # (and its millions of rows) once per field.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS sla_ticketclock_calendar_id_bd19f223",
                    reverse_sql='CREATE INDEX sla_ticketclock_calendar_id_bd19f223 ON "sla_ticketclock" ("calendar_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS sla_ticketclock_ticket_id_95bd28fb",
                    reverse_sql='CREATE INDEX sla_ticketclock_ticket_id_95bd28fb ON "sla_ticketclock" ("ticket_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='ticketclock',
                    name='calendar',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='sla.businesscalendar'),
                ),
                migrations.AlterField(
                    model_name='ticketclock',
                    name='ticket',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='clocks', to='tickets.ticket'),
                ),
            ],
        ),
    ]
