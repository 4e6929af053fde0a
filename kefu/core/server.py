"""The production web server: N uvicorn worker processes, each with its own listening socket.

uvicorn's own ``--workers`` binds one socket in its supervisor and shares it. Every worker's event loop then
accepts whatever is pending when it wakes, so one worker takes a whole burst of keep-alive connections and
keeps them while the other idles; a worker runs one request at a time (kefu.asgi), so the machine's second
core went unused (issue 2: 290/s with a 6/2 split, 410/s with 4/4). Here each worker binds the address itself
with ``SO_REUSEPORT`` and the kernel spreads new connections across the workers' sockets. Where the platform
has no ``SO_REUSEPORT`` the supervisor binds one shared socket, as uvicorn does. Decision 0009.

The supervisor starts the workers, starts a new one when one dies (like uvicorn's), and stops them all on
SIGTERM or SIGINT, waiting for their graceful shutdown.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, Literal

logger = logging.getLogger("kefu.server")

APPLICATION = "kefu.asgi:application"
# A worker that dies this soon after starting is failing to start (bad settings, port taken): after
# STARTUP_FAILURES of those in a row the supervisor gives up instead of restarting it forever.
STARTUP_GRACE_S = 5.0
STARTUP_FAILURES = 3


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    backlog: int = 2048
    proxy_headers: bool = False
    forwarded_allow_ips: str | None = None
    timeout_keep_alive: int = 5
    timeout_graceful_shutdown: int = 30
    log_level: str = "warning"
    access_log: bool = False
    lifespan: Literal["auto", "on", "off"] = "auto"
    shared_socket: bool = False  # force uvicorn's way (one socket bound here), e.g. to compare

    @property
    def reuse_port(self) -> bool:
        return not self.shared_socket and hasattr(socket, "SO_REUSEPORT")


def bind(options: ServeOptions, *, reuse_port: bool) -> socket.socket:
    """A listening TCP socket on the options' address; with ``reuse_port`` others may bind it beside this one."""
    family, kind, proto, _, address = socket.getaddrinfo(
        options.host, options.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(options.backlog)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def default_workers(vendor: str, cpus: int | None = None) -> int:
    """One worker per CPU, and one more on PostgreSQL.

    A worker serves one request at a time (kefu.asgi) and, on PostgreSQL, waits on the server's round trips:
    with as many workers as cores the machine was idle 15-18 % of an API creation run at 1M tickets, and a
    third worker on two cores gave 298-305 creations/s against 273-289. On SQLite, which runs inside the
    worker, the third worker cost 7 % (335-337 against 355-372). Runs: bench/results/intake-2026-12-05e/workers/.
    """
    cpus = cpus or os.cpu_count() or 1
    return cpus + 1 if vendor == "postgresql" else cpus


def describe(options: ServeOptions) -> str:
    sockets = "a listening socket each (SO_REUSEPORT)" if options.reuse_port else "one shared listening socket"
    return f"{options.workers} workers on {options.host}:{options.port}, {sockets}"


def _exit_with(supervisor: int) -> None:
    """Have the kernel send SIGTERM to this worker when the supervisor dies, even by SIGKILL, rather than
    leave an orphan serving on the port (Linux; elsewhere the worker outlives a killed supervisor)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the request took effect
        raise SystemExit(0)


def run_worker(options: ServeOptions, shared: socket.socket | None, supervisor: int) -> None:
    """One worker process: serve the application on its own socket (or the shared one) until told to stop."""
    _exit_with(supervisor)
    import uvicorn

    sock = shared if shared is not None else bind(options, reuse_port=True)
    extra: dict[str, Any] = {}
    if options.forwarded_allow_ips is not None:
        extra["forwarded_allow_ips"] = options.forwarded_allow_ips
    config = uvicorn.Config(
        APPLICATION, host=options.host, port=options.port, backlog=options.backlog,
        proxy_headers=options.proxy_headers, timeout_keep_alive=options.timeout_keep_alive,
        timeout_graceful_shutdown=options.timeout_graceful_shutdown, log_level=options.log_level,
        access_log=options.access_log, lifespan=options.lifespan, **extra)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Supervisor:
    options: ServeOptions
    processes: list[BaseProcess] = field(default_factory=list)
    started_at: dict[int, float] = field(default_factory=dict)
    quick_deaths: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the process's exit status."""
        shared = None if self.options.reuse_port else bind(self.options, reuse_port=False)
        if self.options.reuse_port:
            # Bind once here first, so that an address in use or not ours fails now with the OS's message
            # rather than as workers dying one after another.
            bind(self.options, reuse_port=True).close()
        self._install_signal_handlers()
        context = multiprocessing.get_context("spawn")
        for _ in range(self.options.workers):
            self._start(context, shared)
        logger.info("kefu serve: %s", describe(self.options))
        status = 0
        while not self.stopping.wait(0.5):
            if not self._replace_dead(context, shared):
                status = 1
                break
        self._stop_all()
        if shared is not None:
            shared.close()
        return status

    def _start(self, context: Any, shared: socket.socket | None) -> None:
        process = context.Process(target=run_worker, args=(self.options, shared, os.getpid()), daemon=False)
        process.start()
        assert process.pid is not None
        self.processes.append(process)
        self.started_at[process.pid] = time.monotonic()

    def _replace_dead(self, context: Any, shared: socket.socket | None) -> bool:
        """Start a new worker for each that has exited; False when workers keep dying at start-up."""
        for process in [p for p in self.processes if not p.is_alive()]:
            self.processes.remove(process)
            assert process.pid is not None
            lived = time.monotonic() - self.started_at.pop(process.pid, 0.0)
            self.quick_deaths = self.quick_deaths + 1 if lived < STARTUP_GRACE_S else 0
            logger.warning("kefu serve: worker %d exited with %s after %.1f s", process.pid, process.exitcode, lived)
            if self.quick_deaths >= STARTUP_FAILURES:
                logger.error("kefu serve: workers keep exiting at start-up; stopping (see the messages above)")
                return False
            self._start(context, shared)
        return True

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.options.timeout_graceful_shutdown + 5
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)

    def _install_signal_handlers(self) -> None:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)


def serve(options: ServeOptions) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    return Supervisor(options).run()
