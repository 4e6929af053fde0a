from __future__ import annotations

from kefu.core.periodic import periodic
from kefu.notifications import services


@periodic(seconds=2)
def deliver_notifications() -> None:
    # Drain the outbox: a backlog (after an outage) goes out in batches without waiting for the next turn.
    while services.deliver_due() == services.BATCH:
        pass


@periodic(seconds=2)
def deliver_webhooks() -> None:
    while services.deliver_due_webhooks() == services.BATCH:
        pass
