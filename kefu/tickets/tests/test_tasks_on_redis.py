"""Background tasks through Redis (django-tasks-rq): enqueued by kefu, run by `kefu rqworker`, against the
real Redis on 127.0.0.1:6379 (database 15, emptied first). Skipped where no Redis answers, unless
KEFU_REQUIRE_REDIS=1 (CI)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)"),
    pytest.mark.skipif(not _redis_answers() and os.environ.get("KEFU_REQUIRE_REDIS") != "1",
                       reason="no Redis on 127.0.0.1:6379"),
]


def _kefu(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kefu", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_a_task_enqueued_through_redis_is_run_by_the_rq_worker(tmp_path):
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_TASKS_BACKEND": "django_tasks_rq.RQBackend",
           "REDIS_URL": REDIS_URL}
    env.pop("DATABASE_URL", None)
    _kefu(env, "migrate", "-v0")
    result_id = _kefu(env, "shell", "-c", (
        "import django_rq; django_rq.get_connection('default').flushdb();"
        "from kefu.testing import factories; from kefu.tickets.models import TicketSearchDocument;"
        "from kefu.tickets.tasks import reindex_ticket;"
        "t = factories.ticket(subject='Printer jammed');"
        "TicketSearchDocument.objects.filter(ticket=t).update(tokens='');"
        "print(reindex_ticket.enqueue(t.pk).id)"))
    assert _kefu(env, "shell", "-c", (
        "from kefu.tickets.tasks import reindex_ticket;"
        f"print(reindex_ticket.get_result('{result_id}').status)")) == "READY"
    _kefu(env, "rqworker", "--burst", "default")
    assert _kefu(env, "shell", "-c", (
        "from kefu.tickets.tasks import reindex_ticket;"
        f"r = reindex_ticket.get_result('{result_id}'); print(r.status, r.return_value)")) == "SUCCESSFUL True"
    assert "printer" in _kefu(env, "shell", "-c", (
        "from kefu.tickets.models import TicketSearchDocument; print(TicketSearchDocument.objects.get().tokens)"))
