from django.db import migrations

from kefu.core.dbops import VendorSQL


class Migration(migrations.Migration):
    """PostgreSQL keeps the search vector in a stored column: matching no longer re-parses the tokens of
    every row it checks, and the planner gets statistics on the words (docs/decisions/0003-search.md)."""

    dependencies = [("tickets", "0002_search_index_and_categories")]

    operations = [
        VendorSQL(
            sqlite=[],
            reverse_sqlite=[],
            postgresql=[
                "DROP INDEX IF EXISTS tickets_search_gin",
                "ALTER TABLE tickets_ticketsearchdocument ADD COLUMN tsv tsvector"
                " GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED",
                "CREATE INDEX tickets_search_gin ON tickets_ticketsearchdocument USING gin (tsv)",
            ],
            reverse_postgresql=[
                "DROP INDEX IF EXISTS tickets_search_gin",
                "ALTER TABLE tickets_ticketsearchdocument DROP COLUMN tsv",
                "CREATE INDEX tickets_search_gin ON tickets_ticketsearchdocument"
                " USING gin (to_tsvector('simple', tokens))",
            ],
        ),
    ]
