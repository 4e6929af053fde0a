"""Ports and servers on loopback for tests and benchmarks that start real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, seconds: float = 30, process: subprocess.Popen[bytes] | None = None,
                  log: Path | None = None) -> None:
    """Until something accepts connections on the port; fails with the server's log when it never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            exited = process is not None and process.poll() is not None
            if exited or time.monotonic() > deadline:
                detail = log.read_text()[-3000:] if log is not None and log.exists() else ""
                raise RuntimeError(f"nothing answered on port {port}\n{detail}") from None
            time.sleep(0.1)


def serve_uvicorn(env: dict[str, str], port: int, log: Path, *, cwd: Path,
                  workers: int = 1) -> subprocess.Popen[bytes]:
    """kefu's ASGI application in uvicorn on 127.0.0.1:port, its output in `log`; waits until it answers."""
    with log.open("wb") as output:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            [sys.executable, "-m", "uvicorn", "kefu.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers), "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
            cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, log=log)
    except RuntimeError:
        process.kill()
        raise
    return process


ROOT = Path(__file__).resolve().parents[2]


def run_kefu(env: dict[str, str], *args: str) -> str:
    """`kefu <args>` in a process of its own (its own data directory in `env`); returns its last line."""
    done = subprocess.run([sys.executable, "-m", "kefu", *args], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def embedded_env(data_dir: Path) -> dict[str, str]:
    """The environment of an embedded-mode kefu in `data_dir` (SQLite, English, the bot's model there too),
    migrated."""
    env = {**os.environ, "KEFU_DATA_DIR": str(data_dir), "KEFU_LANGUAGE": "en"}
    for name in ("DATABASE_URL", "KEFU_BOT_MODEL_PATH"):
        env.pop(name, None)
    run_kefu(env, "migrate", "-v0")
    return env


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """kefu served by uvicorn with this environment; yields its base URL and stops it afterwards."""
    port = free_port()
    process = serve_uvicorn(env, port, log, cwd=ROOT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def child_processes(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of each child of `pid`, read from Linux's /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append((int(entry.name), cmdline))
    return out


def web_workers(pid: int) -> list[int]:
    """The worker processes of a `kefu serve` or `uvicorn --workers` supervisor (spawned children), not its
    multiprocessing resource tracker."""
    return sorted(child for child, cmdline in child_processes(pid) if "spawn_main" in cmdline)


def redis_answers(port: int = 6379) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def sign_in(page: Any, base: str, login: str, password: str) -> None:
    """Sign in through the login form, as a person would (a Playwright page)."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Sign in')")
