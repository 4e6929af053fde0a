from __future__ import annotations

from kefu.collaboration import services
from kefu.core.periodic import periodic


@periodic(seconds=30)
def sweep_collaboration_clocks() -> None:
    # Each run handles a batch; what is left is handled on the next turn (30 s later).
    services.breach_due_requests()
    services.breach_due_plans()
