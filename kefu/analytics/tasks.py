from __future__ import annotations

from kefu.analytics import reports, services
from kefu.core.periodic import periodic


@periodic(seconds=10)
def roll_up_events() -> None:
    services.roll_up_all()


@periodic(seconds=300)
def send_reports() -> None:
    reports.send_due_reports()


@periodic(seconds=600)
def snapshot_backlog() -> None:
    services.snapshot_backlog()  # today's is replaced until the day ends; yesterday's stays as it last was
