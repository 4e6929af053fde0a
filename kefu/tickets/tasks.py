from __future__ import annotations

from django.db import connection
from django_tasks import task

from kefu.core.periodic import periodic
from kefu.tickets import services
from kefu.tickets.models import Ticket

SEARCH_MERGE_PAGES = 500  # ~40 ms of work at 100k tickets


@task()
def reindex_ticket(ticket_id: int) -> bool:
    """Rebuild one ticket's search document (after an import or a change made outside the services)."""
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    services.reindex_ticket(ticket)
    return True


@periodic(seconds=30)
def merge_search_segments() -> None:
    """SQLite: merge the search index's segments that intake appended (migration 0004 keeps merges off
    the write path). A level is merged once it has four segments; with fewer this does nothing."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rank) VALUES ('merge', %s)",
                           [SEARCH_MERGE_PAGES])
