from django.db import migrations

from kefu.core.dbops import VendorSQL

DEFAULT_CATEGORIES = [
    # slug, English, Chinese, default priority
    ("consultation", "Consultation", "咨询", "normal"),
    ("service-request", "Service request", "服务请求", "normal"),
    ("complaint", "Complaint / suggestion", "投诉建议", "high"),
    ("fault", "Fault", "故障报修", "high"),
    ("emergency", "Emergency", "紧急事件", "urgent"),
]


def add_default_categories(apps, schema_editor):
    Category = apps.get_model("tickets", "Category")
    for position, (slug, en, zh, priority) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(
            slug=slug, defaults={"name_en": en, "name_zh": zh, "default_priority": priority, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        VendorSQL(
            # External-content FTS5 table over the token column, kept in step by triggers.
            sqlite=[
                "CREATE VIRTUAL TABLE tickets_ticket_fts USING fts5("
                " tokens, content='tickets_ticketsearchdocument', content_rowid='ticket_id',"
                " tokenize='unicode61 remove_diacritics 0', prefix='1 2')",
                "CREATE TRIGGER tickets_search_ai AFTER INSERT ON tickets_ticketsearchdocument BEGIN"
                " INSERT INTO tickets_ticket_fts(rowid, tokens) VALUES (new.ticket_id, new.tokens); END",
                "CREATE TRIGGER tickets_search_ad AFTER DELETE ON tickets_ticketsearchdocument BEGIN"
                " INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rowid, tokens)"
                " VALUES ('delete', old.ticket_id, old.tokens); END",
                "CREATE TRIGGER tickets_search_au AFTER UPDATE ON tickets_ticketsearchdocument BEGIN"
                " INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rowid, tokens)"
                " VALUES ('delete', old.ticket_id, old.tokens);"
                " INSERT INTO tickets_ticket_fts(rowid, tokens) VALUES (new.ticket_id, new.tokens); END",
            ],
            reverse_sqlite=[
                "DROP TRIGGER IF EXISTS tickets_search_au",
                "DROP TRIGGER IF EXISTS tickets_search_ad",
                "DROP TRIGGER IF EXISTS tickets_search_ai",
                "DROP TABLE IF EXISTS tickets_ticket_fts",
            ],
            postgresql=[
                "CREATE INDEX tickets_search_gin ON tickets_ticketsearchdocument"
                " USING gin (to_tsvector('simple', tokens))",
            ],
            reverse_postgresql=["DROP INDEX IF EXISTS tickets_search_gin"],
        ),
        migrations.RunPython(add_default_categories, migrations.RunPython.noop),
    ]
