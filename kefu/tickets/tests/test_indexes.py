"""The hot tables carry no index twice: every index is work on each insert (intake, the SLA sweep)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# Columns indexed only through a composite index that leads with them, or a partial one.
COVERED = {
    "tickets_message": {"ticket_id": "message_ticket_created"},
    "tickets_ticketevent": {"ticket_id": "event_ticket_at", "actor_id": "event_actor"},
    "sla_ticketclock": {"ticket_id": "clock_ticket_state"},
    "notifications_staffalert": {"user_id": "alert_user_unread"},
    "tickets_ticket": {"identity_verified_by_id": "ticket_identity_verified_by",
                       "fix_verified_by_id": "ticket_fix_verified_by",
                       "chosen_solution_id": "ticket_chosen_solution", "merged_into_id": "ticket_merged_into",
                       "customer_id": "ticket_customer_id", "owner_id": "ticket_owner_status_id",
                       "team_id": "ticket_team_status_id", "category_id": "ticket_category_id"},
}


def _indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name: c["columns"] for name, c in constraints.items()
            if c["index"] and not c["unique"] and not c["primary_key"]}


@pytest.mark.parametrize("table", sorted(COVERED))
def test_a_column_is_indexed_once_and_by_the_index_that_serves_its_reads(table):
    indexes = _indexes(table)
    for column, serving in COVERED[table].items():
        assert indexes[serving][0] == column
        others = [name for name, columns in indexes.items() if columns == [column]]
        assert others in ([], [serving]), f"{table}.{column} is also indexed by {others}"


def test_the_tracking_token_has_its_unique_index_only():
    # Looked up whole, never by a prefix: PostgreSQL's LIKE index (what `unique=True` adds) served nothing.
    assert not [name for name, columns in _indexes("tickets_ticket").items() if columns == ["tracking_token"]]


def test_clocks_are_not_indexed_by_calendar():
    assert not [name for name, columns in _indexes("sla_ticketclock").items() if columns == ["calendar_id"]]
