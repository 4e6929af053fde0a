"""A task whose worker was killed mid-run is given to the next worker (django-tasks-db has no lease of its own);
bench/faults.py found one left "running" for ever after a kill -9."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kefu.core.tasks import TASK_LEASE, requeue_abandoned_tasks
from kefu.testing import factories
from kefu.tickets.tasks import reindex_ticket

# serialized_rollback, as every transactional test here: the data the migrations put in is restored afterwards
# for the tests that follow, instead of the tables being emptied.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def claimed(started: dt.datetime) -> DBTaskResult:
    """A queued task as a worker leaves it when it is killed after claiming it."""
    result = DBTaskResult.objects.get(pk=reindex_ticket.enqueue(factories.ticket().pk).id)
    result.claim("killed-worker")
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=started)
    return result


def test_a_task_running_past_the_lease_is_queued_again_and_done_by_the_next_worker():
    abandoned = claimed(timezone.now() - TASK_LEASE - dt.timedelta(minutes=1))
    busy = claimed(timezone.now() - dt.timedelta(minutes=1))  # its worker may still be at it

    assert requeue_abandoned_tasks() == 1
    call_command("db_worker", batch=True, verbosity=0)

    abandoned.refresh_from_db()
    busy.refresh_from_db()
    assert abandoned.status == TaskResultStatus.SUCCESSFUL and abandoned.return_value is True
    assert busy.status == TaskResultStatus.RUNNING
