"""FTS5 merges its index segments inside the inserting transaction by default (`automerge` 4): on the
intake path that was a ~20 ms stall every 64th ticket while the writer held SQLite's only write turn,
and two thirds of the mean cost of indexing a ticket. Intake now only appends a segment; the scheduler's
`merge_search_segments` merges them in the background, and FTS5's crisis merge (at 64 segments on a
level) bounds the index if no scheduler runs. The options are stored in the index itself."""

from django.db import migrations

from kefu.core.dbops import VendorSQL


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_search_vector_column")]

    operations = [
        VendorSQL(
            sqlite=[
                "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rank) VALUES ('automerge', 0)",
                "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rank) VALUES ('crisismerge', 64)",
            ],
            reverse_sqlite=[
                "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rank) VALUES ('automerge', 4)",
                "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rank) VALUES ('crisismerge', 16)",
            ],
            postgresql=[],
            reverse_postgresql=[],
        ),
    ]
