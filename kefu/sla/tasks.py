from __future__ import annotations

from kefu.core.periodic import periodic
from kefu.sla import services


@periodic(seconds=15)
def sweep_clocks() -> None:
    # A backlog (after downtime) is worked off in batches without waiting for the next turn.
    while services.sweep() == services.SWEEP_BATCH:
        pass
