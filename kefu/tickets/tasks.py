from __future__ import annotations

from django_tasks import task

from kefu.core.periodic import periodic
from kefu.tickets import services
from kefu.tickets.models import Ticket


@task()
def reindex_ticket(ticket_id: int) -> bool:
    """Rebuild one ticket's search document (after an import or a change made outside the services)."""
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    services.reindex_ticket(ticket)
    return True


@periodic(seconds=300)
def close_unconfirmed_resolutions() -> None:
    services.close_unconfirmed_resolutions()


@periodic(seconds=30)
def merge_search_segments() -> None:
    services.merge_search_segments()
