"""The README's first command: `kefu up` migrates, loads the demo, prints the logins and serves."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the embedded mode is SQLite; run once")
def test_kefu_up_serves_the_demo_on_first_run(tmp_path):
    port = _free_port()
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu", "up", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert 'name="password"' in body
        assert (tmp_path / "kefu.sqlite3").exists()
        # The demo knowledge base is in the help center, and the chatbot has learnt it before the first chat.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/help/?q=%E5%8F%91%E7%A5%A8", timeout=5) as response:
            assert "<mark>发票</mark>" in response.read().decode()
        assert (tmp_path / "bot" / "intents.pickle").exists()
        # The worker's scheduler delivers the demo tickets' acknowledgements from the outbox.
        outbox = tmp_path / "sent-mail"
        while time.monotonic() < deadline and not (outbox.is_dir() and any(outbox.iterdir())):
            time.sleep(0.5)
        sent = "".join(path.read_text() for path in outbox.iterdir()) if outbox.is_dir() else ""
        assert "/t/" in sent, "no acknowledgement with a tracking link was delivered"
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):  # never leave a worker behind, whatever happened
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, output
    assert "agent" in output and "kefu-demo-2026" in output
    assert f"http://127.0.0.1:{port}/" in output
