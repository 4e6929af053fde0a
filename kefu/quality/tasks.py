from __future__ import annotations

from kefu.core.periodic import periodic
from kefu.quality import services


@periodic(seconds=600)
def sample_closed_tickets() -> None:
    # Runs often but samples once a day: the day's run row is unique, so a turn after the first is a no-op.
    services.sample_previous_day()
