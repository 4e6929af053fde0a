"""Background tasks through Redis (django-tasks-rq): enqueued by kefu, run by `kefu rqworker`, against the
real Redis on 127.0.0.1:6379 (database 15, emptied first). Skipped where no Redis answers, unless
KEFU_REQUIRE_REDIS=1 (CI)."""

from __future__ import annotations

import os

import pytest

from kefu.testing.net import redis_answers, run_kefu

REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)"),
    pytest.mark.skipif(not redis_answers() and os.environ.get("KEFU_REQUIRE_REDIS") != "1",
                       reason="no Redis on 127.0.0.1:6379"),
]


def test_a_task_enqueued_through_redis_is_run_by_the_rq_worker(tmp_path):
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_TASKS_BACKEND": "django_tasks_rq.RQBackend",
           "REDIS_URL": REDIS_URL}
    env.pop("DATABASE_URL", None)
    run_kefu(env, "migrate", "-v0")
    result_id = run_kefu(env, "shell", "-c", (
        "import django_rq; django_rq.get_connection('default').flushdb();"
        "from kefu.testing import factories; from kefu.tickets.models import TicketSearchDocument;"
        "from kefu.tickets.tasks import reindex_ticket;"
        "t = factories.ticket(subject='Printer jammed');"
        "TicketSearchDocument.objects.filter(ticket=t).update(tokens='');"
        "print(reindex_ticket.enqueue(t.pk).id)"))
    assert run_kefu(env, "shell", "-c", (
        "from kefu.tickets.tasks import reindex_ticket;"
        f"print(reindex_ticket.get_result('{result_id}').status)")) == "READY"
    run_kefu(env, "rqworker", "--burst", "default")
    assert run_kefu(env, "shell", "-c", (
        "from kefu.tickets.tasks import reindex_ticket;"
        f"r = reindex_ticket.get_result('{result_id}'); print(r.status, r.return_value)")) == "SUCCESSFUL True"
    assert "printer" in run_kefu(env, "shell", "-c", (
        "from kefu.tickets.models import TicketSearchDocument; print(TicketSearchDocument.objects.get().tokens)"))
