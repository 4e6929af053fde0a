from __future__ import annotations

from kefu.core.periodic import periodic
from kefu.inbox import services


@periodic(seconds=5)
def process_waiting_email() -> None:
    """Messages stored but not yet processed: retries after a failure, or a worker that died mid-way."""
    while services.process_due() == services.BATCH:
        pass


@periodic(seconds=60)
def poll_mailboxes() -> None:
    services.poll_active_mailboxes()
