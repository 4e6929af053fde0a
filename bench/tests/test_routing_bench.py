"""The routing benchmark's building blocks on a small world in the test database, so the script keeps
working: every decision it times is a real decision, and the burst really assigns."""

from __future__ import annotations

import random

import pytest

from bench import routing as bench
from kefu.accounts.models import AgentProfile
from kefu.routing.models import RoutingEntry
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_routing_benchmark_measures_real_decisions_and_assignments() -> None:
    rng = random.Random(3)
    world = bench.build(agents=30, waiting=200, rng=rng)
    assert RoutingEntry.objects.filter(state="waiting").count() == 200

    assert bench.time_intake_decisions(world, 30, rng)["n"] == 30
    assert bench.time_get_next_decisions(world, 30, rng)["n"] == 30
    assert bench.time_pure_choice(world, 30, rng)["agents"] == 30

    burst = bench.time_burst(world, 40, rng)
    assert burst["assigned"] >= 40  # the burst's tickets, or as many older ones in front of them
    owners = set(Ticket.objects.filter(owner__isnull=False).values_list("owner_id", flat=True))
    assert len(owners) > 1
    for profile in AgentProfile.objects.filter(user_id__in=owners):
        # The benchmark's made-up starting loads are replaced by the real count at the first assignment.
        assert profile.open_tickets == Ticket.objects.filter(owner_id=profile.user_id).count()
        assert profile.open_tickets <= profile.max_tickets

    intake = bench.time_intake({**world, "size": 30}, 5)
    assert len(intake["with_routing_per_s"]) == len(intake["round_robin_per_s"]) == 3
