from __future__ import annotations

from kefu.approvals import services
from kefu.core.periodic import periodic


@periodic(seconds=60)
def remind_waiting_requests() -> None:
    services.remind_waiting_requests()
