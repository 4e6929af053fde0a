"""`kefu serve`, the production web server, as an operator runs it: real processes, real sockets."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.core.server import default_workers
from kefu.testing.net import ROOT, embedded_env, free_port, wait_for_port, web_workers

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads connections from Linux's /proc")


def _alive(pid: int) -> bool:
    """Running, not a zombie (a zombie's sockets are closed)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _workers(supervisor: subprocess.Popen[bytes]) -> set[int]:
    return set(web_workers(supervisor.pid))


def _owners(server_port: int, client_ports: set[int]) -> Counter[int]:
    """How many of the clients' connections each process holds the server end of."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(fields[i].split(":")[1], 16) for i in (1, 2))
        if local == server_port and remote in client_ports:
            inodes.add(fields[9])
    owners: Counter[int] = Counter()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            targets = [os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")]
        except OSError:
            continue
        owners[int(entry)] += sum(1 for t in targets if (m := re.match(r"socket:\[(\d+)\]", t)) and m[1] in inodes)
    return +owners


def _get(port: int, path: str = "/login/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _get_soon(port: int, seconds: float = 5) -> int:
    """`_get`, again when reset: a connection the kernel handed a killed worker just before its socket
    closed is reset (decision 0009)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return _get(port)
        except ConnectionResetError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return embedded_env(tmp_path / "data")


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kefu", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, log=log)
        deadline = time.monotonic() + 60
        while len(_workers(process)) < 2 or _get(port) != 200:  # both workers up, not only the first
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(40)


def test_keep_alive_connections_are_spread_over_the_workers(served: tuple[subprocess.Popen[bytes], int],
                                                           tmp_path: Path) -> None:
    process, port = served
    assert f"2 workers on 127.0.0.1:{port}, a listening socket each" in (tmp_path / "serve.log").read_text()
    workers = _workers(process)
    deadline = time.monotonic() + 30
    while True:  # the second worker may still be binding its socket just after the first answers
        clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
        for client in clients:
            client.request("GET", "/login/")
            response = client.getresponse()
            response.read()
            assert response.status == 200
        owners = _owners(port, {client.sock.getsockname()[1] for client in clients})
        for client in clients:
            client.close()
        if len(owners) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # With uvicorn's one shared socket, the worker that woke first took every connection of such a burst.
    assert set(owners) == workers, owners
    assert sum(owners.values()) == 16


def test_a_killed_worker_is_replaced_and_the_site_keeps_answering(
        served: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = served
    victim, survivor = sorted(_workers(process))
    os.kill(victim, signal.SIGKILL)
    assert _get_soon(port) == 200  # the other worker's socket still takes new connections
    deadline = time.monotonic() + 60
    while len(_workers(process) - {victim}) < 2:
        assert time.monotonic() < deadline, "no replacement worker started"
        time.sleep(0.2)
    assert survivor in _workers(process)
    assert all(_get(port) == 200 for _ in range(10))


def test_sigterm_stops_the_supervisor_and_every_worker(served: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = served
    workers = _workers(process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(40) == 0
    assert not any(_alive(pid) for pid in workers)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_the_shared_socket_mode_serves_too(env: dict[str, str], tmp_path: Path) -> None:
    # The fallback where SO_REUSEPORT is missing: the supervisor binds one socket and hands it to the workers.
    port = free_port()
    log = tmp_path / "shared.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kefu", "serve", "--port", str(port), "--workers", "2", "--shared-socket"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, log=log)
        assert all(_get(port) == 200 for _ in range(5))
        assert len(_workers(process)) == 2
        assert f"2 workers on 127.0.0.1:{port}, one shared listening socket" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(40) == 0


def test_workers_do_not_outlive_a_killed_supervisor(served: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = served
    workers = _workers(process)
    process.kill()
    process.wait(10)
    deadline = time.monotonic() + 40
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker kept serving after its supervisor was killed"
        time.sleep(0.2)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_an_address_in_use_fails_at_once_with_the_reason(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "kefu", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "Address already in use" in done.stderr


def test_workers_that_keep_dying_at_start_up_stop_the_server(env: dict[str, str]) -> None:
    # An option only the workers act on (uvicorn's log level) and that fails there: the supervisor itself
    # starts fine, so without its give-up rule it would restart them forever.
    script = ("import sys; from kefu.core.server import ServeOptions, serve; "
              f"sys.exit(serve(ServeOptions(port={free_port()}, workers=2, log_level='no-such-level')))")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                          env={**env, "DJANGO_SETTINGS_MODULE": "kefu.settings"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "keep exiting at start-up" in done.stderr
    assert time.monotonic() - started < 100


def test_the_default_is_a_worker_per_cpu_and_one_more_on_postgresql() -> None:
    # On PostgreSQL each worker also waits on the database's round trips; SQLite runs inside the worker.
    assert default_workers("sqlite", cpus=2) == 2
    assert default_workers("postgresql", cpus=2) == 3
    assert default_workers("postgresql", cpus=8) == 9
