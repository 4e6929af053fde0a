"""Fault tests: the worker is killed (SIGKILL) in the middle of delivering a batch and restarted.

Real processes on a real SQLite file: `kefu worker --scheduler` delivers the outbox, mail to files
(Django's file mail backend) and webhooks to a local HTTP receiver that refuses some at random; the
test kills the worker once some, not all, are out, starts it again and checks that everything was
delivered: none lost, each marked delivered once, and any repeat of what was in flight at the kill
carries the same idempotency key.
"""

from __future__ import annotations

import contextlib
import email
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COUNT = 1500
WEBHOOKS = 300

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs its own SQLite worker; once")


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_DEBUG": "0",
           # Short lease and back-off so that the retries of a refused or interrupted delivery fit the test.
           "KEFU_DELIVERY_LEASE_SECONDS": "2", "KEFU_RETRY_BASE_SECONDS": "0.05"}
    env.pop("DATABASE_URL", None)
    _kefu(env, "migrate", "-v0")
    return env


def _states(env: dict[str, str], model: str) -> str:
    out = _kefu(env, "shell", "-c", (
        f"from collections import Counter; from kefu.notifications.models import {model};"
        f"print(dict(Counter({model}.objects.values_list('state', flat=True))))"))
    return out.strip().splitlines()[-1]


def _kill_when(worker: subprocess.Popen[bytes], started: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not started():
        time.sleep(0.05)
    _kill(worker)


def _kefu(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kefu", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "kefu", "worker", "--scheduler", "--interval", "0.2"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _message_ids(outbox: Path) -> list[str]:
    # The file backend appends each message followed by a line of dashes.
    chunks = [chunk.strip() for path in outbox.glob("*.log") for chunk in path.read_text().split("-" * 79)]
    return [email.message_from_string(chunk)["Message-ID"] for chunk in chunks if chunk]


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(tmp_path):
    env = _environment(tmp_path)
    _kefu(env, "shell", "-c", (
        "from kefu.notifications.models import Notification;"
        f"Notification.objects.bulk_create([Notification(recipient=f'c{{i}}@example.com', template='staff_alert',"
        f" language='en', context={{'name': 'C', 'lines': [{{'ticket_id': i, 'text': 'Alert %d' % i}}]}})"
        f" for i in range({COUNT})])"))
    outbox, log = tmp_path / "sent-mail", tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        _kill_when(worker, lambda: outbox.exists() and len(_message_ids(outbox)) >= COUNT // 5)
        sent_before_kill = len(_message_ids(outbox))
        assert 0 < sent_before_kill < COUNT, "the kill must land in the middle of the batch"
        worker = _start_worker(env, log)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(set(_message_ids(outbox))) < COUNT:
            time.sleep(0.2)
    finally:
        _kill(worker)
    received = Counter(_message_ids(outbox))
    assert len(received) == COUNT, log.read_text()[-2000:]  # none lost
    repeats = {key: n for key, n in received.items() if n > 1}
    assert len(repeats) <= 1 and all(n == 2 for n in repeats.values())  # at most the one in flight, same key
    assert _states(env, "Notification") == f"{{'delivered': {COUNT}}}"


def test_a_worker_killed_mid_batch_of_webhooks_loses_and_duplicates_nothing(tmp_path, receiver):
    receiver.failure_rate = 0.3
    env = _environment(tmp_path)
    _kefu(env, "shell", "-c", (
        "from kefu.notifications.models import WebhookDelivery, WebhookEndpoint;"
        f"endpoint = WebhookEndpoint.objects.create(name='Receiver', url='{receiver.url}');"
        "WebhookDelivery.objects.bulk_create([WebhookDelivery(endpoint=endpoint, key=f'event.{i}',"
        f" event_type='created', payload={{'n': i}}) for i in range({WEBHOOKS})])"))
    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        _kill_when(worker, lambda: len(receiver.accepted) >= WEBHOOKS // 5)
        accepted_before_kill = len(receiver.accepted)
        assert 0 < accepted_before_kill < WEBHOOKS, "the kill must land in the middle of the batch"
        worker = _start_worker(env, log)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len({r["headers"]["X-Kefu-Delivery"] for r in receiver.accepted}) \
                < WEBHOOKS:
            time.sleep(0.2)
    finally:
        _kill(worker)
    acknowledged = Counter(r["headers"]["X-Kefu-Delivery"] for r in receiver.accepted)
    assert len(acknowledged) == WEBHOOKS, log.read_text()[-2000:]  # none lost
    assert receiver.refused > 0  # and the random refusals were retried
    repeats = {key: n for key, n in acknowledged.items() if n > 1}
    assert len(repeats) <= 1 and all(n == 2 for n in repeats.values())  # at most the one in flight, same key
    assert _states(env, "WebhookDelivery") == f"{{'delivered': {WEBHOOKS}}}"
