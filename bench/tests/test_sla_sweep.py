"""The SLA sweep benchmark's own steps, small, in the test database: what it loads is what it sweeps."""

from __future__ import annotations

import pytest

from bench import sla_sweep
from kefu.sla.models import TicketClock

pytestmark = pytest.mark.django_db


def _due() -> int:
    from kefu.core.clock import now

    return TicketClock.objects.filter(next_check_at__lte=now()).count()


def test_every_due_clock_the_load_made_is_swept() -> None:
    sla_sweep._load(sla_sweep._world(), start=0, count=600, due_percent=10)
    due = _due()
    assert 30 <= due <= 90  # 10 % of 600, by a seeded roll

    first = sla_sweep._measure()
    assert first["due"] == first["handled"] == due
    assert _due() == 0


def test_the_few_rearmed_clocks_are_spread_over_the_table() -> None:
    sla_sweep._load(sla_sweep._world(), start=0, count=600, due_percent=10)
    sla_sweep._measure()
    swept = sorted(TicketClock.objects.exclude(state="running").values_list("ticket_id", flat=True))

    sla_sweep._rearm_swept(limit=4)
    rearmed = sorted(TicketClock.objects.filter(ticket_id__in=swept, state="running")
                     .values_list("ticket_id", flat=True))
    assert len(rearmed) == 4
    assert rearmed[-1] - rearmed[0] > (swept[-1] - swept[0]) / 2


def test_rearming_an_hour_after_the_load_brings_back_only_the_chosen_clocks() -> None:
    import datetime as dt

    from kefu.core.clock import frozen_at, now

    loaded_at = now()
    with frozen_at(loaded_at):
        sla_sweep._load(sla_sweep._world(), start=0, count=600, due_percent=10)
        due = sla_sweep._measure()["handled"]
    later = loaded_at + dt.timedelta(hours=1)  # the warned clocks' due times have passed by then
    with frozen_at(later):
        assert sla_sweep._rearm_swept(limit=5) == 5
        assert _due() == 5
        assert sla_sweep._measure()["handled"] == 5
        assert sla_sweep._rearm_swept() == due
        assert sla_sweep._measure()["handled"] == due
    warned_now = TicketClock.objects.filter(state="warning", warned_at=later).count()
    assert 0 < warned_now < due  # some warn again and the others breach, as after the load
