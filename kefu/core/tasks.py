from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kefu.core import ratelimit
from kefu.core.periodic import periodic

# Longer than any of kefu's tasks runs (the longest, a top-issues grouping, takes under a minute).
TASK_LEASE = dt.timedelta(minutes=30)


@periodic(seconds=3600)
def forget_expired_rate_counters() -> None:
    ratelimit.forget_expired()


@periodic(seconds=300)
def requeue_abandoned_tasks() -> int:
    """Put back in the queue the tasks whose worker died while running them (killed, its machine lost).

    django-tasks-db has no lease: such a task would stay "running" for ever and never be done. Every kefu task
    is safe to run twice (each reads the current state and writes its result idempotently), so one running far
    longer than any task takes is given to the next worker. With the Redis backend the table stays empty.
    """
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=timezone.now() - TASK_LEASE,
    ).update(status=TaskResultStatus.READY, started_at=None)
