from __future__ import annotations

from django_tasks import task

from kefu.analytics import reports, services, top_issues
from kefu.core.periodic import periodic

BATCHES_PER_TICK = 10


@periodic(seconds=10)
def roll_up_events() -> None:
    # A bounded share per tick: after an upgrade the whole history waits, and the scheduler's other jobs (the
    # outbox above all) must not wait behind it.
    for roll_up in (services.roll_up, services.roll_up_chats, services.roll_up_bot):
        for _ in range(BATCHES_PER_TICK):
            if not roll_up():
                break


@periodic(seconds=300)
def send_reports() -> None:
    reports.send_due_reports()


@periodic(seconds=600)
def snapshot_backlog() -> None:
    services.snapshot_backlog()  # today's is replaced until the day ends; yesterday's stays as it last was


@periodic(seconds=300)
def plan_top_issues() -> None:
    # The grouping takes seconds to tens of seconds at scale: a worker does it, not the scheduler's thread.
    for row_id in top_issues.plan_groupings():
        group_top_issues.enqueue(row_id)


@task()
def group_top_issues(row_id: int) -> bool:
    return top_issues.compute_stored_grouping(row_id)
