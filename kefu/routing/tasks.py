from __future__ import annotations

from kefu.core.periodic import periodic
from kefu.routing import engine, services


@periodic(seconds=10)
def route_queues() -> None:
    # Presence first, so that an agent who went idle is not handed work in the same turn.
    services.expire_presence()
    services.route_waiting()
    services.check_queue_alerts()


@periodic(seconds=600)
def recount_loads() -> None:
    # The counts are kept exact by every assignment and status change; this corrects a count that a
    # write outside the services (the admin, a data fix) left behind.
    engine.recount_all_loads()
