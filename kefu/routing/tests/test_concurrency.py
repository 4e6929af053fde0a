"""Two workers assigning at the same moment, each on its own database connection (threads; on PostgreSQL
two server backends): no ticket goes to two agents, no agent goes over capacity, loads stay exact."""

from __future__ import annotations

from collections import Counter

import pytest
from django.conf import settings

from kefu.accounts.models import AgentProfile, Presence, Role, User
from kefu.routing import services as routing
from kefu.routing import strategies as st
from kefu.routing.models import Queue, RoutingEntry
from kefu.testing import factories
from kefu.testing.concurrency import race
from kefu.tickets.models import Ticket, TicketEvent

# The SQLite test database lives in memory with a shared cache, where a reader and a writer on two
# connections lock each other's tables (SQLITE_LOCKED) instead of waiting as WAL on a file does; a SQLite
# deployment has one writer at a time anyway (kefu.core.sqlite). CI runs these on PostgreSQL. Skipped at
# collection, so that on SQLite no transactional test empties the database for the tests after it; on
# PostgreSQL serialized_rollback leaves what the migrations put there for the transactional tests after these.
pytestmark = [
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                       reason="concurrent connections are tested on PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _setup(agents: int, capacity: int, tickets: int) -> tuple[list[User], list[Ticket]]:
    team = factories.department("Race")
    admin = factories.staff(Role.ADMIN)
    Queue.objects.create(name="Race", team=team, strategy="least_loaded")
    people = [factories.staff(teams=(team,)) for _ in range(agents)]
    for person in people:
        routing.configure_agent(person, actor=admin, max_tickets=capacity)
    waiting = [factories.ticket(subject=f"race {n}", auto_assign=True) for n in range(tickets)]
    assert all(t.owner is None for t in waiting)  # nobody online yet: all wait
    AgentProfile.objects.filter(user__in=people).update(presence=Presence.ONLINE)
    return people, waiting


def _assert_consistent(people: list[User], capacity: int) -> Counter[int]:
    owners = Counter(Ticket.objects.filter(owner__in=people).values_list("owner_id", flat=True))
    assigned = Counter(TicketEvent.objects.filter(type="assigned").values_list("ticket_id", flat=True))
    assert all(n == 1 for n in assigned.values()), "a ticket was assigned twice"
    for person in people:
        profile = AgentProfile.objects.get(user=person)
        assert owners[person.pk] <= capacity, "an agent went over capacity"
        assert profile.open_tickets == owners[person.pk], "the load count drifted"
    assert RoutingEntry.objects.filter(state=RoutingEntry.State.ASSIGNED).count() == sum(owners.values())
    return owners


def test_two_sweeps_at_once_fill_every_agent_exactly_to_capacity_and_no_further():
    people, _waiting = _setup(agents=4, capacity=3, tickets=20)

    results = race(routing.route_waiting, routing.route_waiting)

    assert not [r for r in results if isinstance(r, Exception)], results
    owners = _assert_consistent(people, capacity=3)
    assert sum(owners.values()) == 12 and sum(r for r in results if isinstance(r, int)) == 12
    assert RoutingEntry.objects.filter(state=RoutingEntry.State.WAITING).count() == 8


def test_two_workers_claiming_the_same_ticket_for_different_agents_one_wins():
    people, waiting = _setup(agents=2, capacity=10, tickets=8)
    for ticket in waiting:
        entry = RoutingEntry.objects.get(ticket=ticket)
        item = st.WorkItem(ticket_id=ticket.pk, queue_id=entry.queue_id, team_id=None, priority=entry.priority,
                           tier=entry.tier, enqueued_at=entry.enqueued_at)
        choices = [st.Choice(p.pk, st.Strategy.LEAST_LOADED, None, 0, 10) for p in people]
        outcomes = race(*(lambda c=c, i=item: routing.execute(i, c, i.enqueued_at) for c in choices))
        assert sorted(o.value for o in outcomes) == ["assigned", "ticket_gone"], outcomes  # type: ignore[attr-defined]
    _assert_consistent(people, capacity=10)
    assert Ticket.objects.filter(pk__in=[t.pk for t in waiting], owner__isnull=True).count() == 0


def test_two_workers_filling_one_agents_last_place_only_one_gets_it():
    people, waiting = _setup(agents=1, capacity=1, tickets=2)
    [person] = people
    items = []
    for ticket in waiting:
        entry = RoutingEntry.objects.get(ticket=ticket)
        items.append(st.WorkItem(ticket_id=ticket.pk, queue_id=entry.queue_id, team_id=None, priority=entry.priority,
                                 tier=entry.tier, enqueued_at=entry.enqueued_at))
    choice = st.Choice(person.pk, st.Strategy.LEAST_LOADED, None, 0, 1)
    outcomes = race(*(lambda i=i: routing.execute(i, choice, i.enqueued_at) for i in items))
    assert sorted(o.value for o in outcomes) == ["agent_full", "assigned"], outcomes  # type: ignore[attr-defined]
    _assert_consistent(people, capacity=1)
    # The ticket that lost is still waiting, not lost.
    assert RoutingEntry.objects.filter(state=RoutingEntry.State.WAITING).count() == 1
