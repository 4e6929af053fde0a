"""Fault tests under load: processes killed with SIGKILL, and PostgreSQL restarted, while bench/load.py's
mixed traffic runs; then the client-side ledger is checked against the database.

    python bench/faults.py [--duration 90] [--output bench/results/faults.json] [--only kills|postgres]

Two scenarios, each on a production-like stack of its own (bench/load.py: `kefu serve` with 3 workers, the
Redis channel layer, `kefu worker`, `kefu scheduler`, KEFU_PRODUCTION=1):

kills (the machine's PostgreSQL, a database created for the run): during the load, one web worker is
killed (`kefu serve`'s supervisor starts another), then the task worker (restarted here, as systemd would), then
the scheduler (likewise), then another web worker. A batch of background tasks is queued just before the
worker is killed, so that it dies with work in hand. Requests that the kill cut are counted apart ("cut":
no answer, so not acknowledged); they may or may not have been written, but never twice or by halves.

postgres (a private cluster: initdb in a temporary directory on its own port, never the machine's shared
server): `pg_ctl restart -m fast`, later `pg_ctl stop -m immediate`, 15 s down (longer than the web
processes' 10 s wait for a pooled connection), `pg_ctl start`. Requests during an outage must fail within
the client's timeout (5xx or a broken connection, no hang), new requests
must succeed afterwards without anyone doing anything, and the worker and the scheduler must carry on
(still running, and a task queued after the outage is done).

Both check: lost 0 and duplicated 0 for tickets (portal and mail), replies, chat messages, timeline events
and outbox rows (each delivered, each mail sent under its idempotency key; a delivery in flight when the
scheduler died may be sent again, with the same key, and is reported as such).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from kefu.testing.net import free_port  # noqa: E402
from kefu.testing.proof import figure  # noqa: E402

PG_BIN = Path(os.environ.get("KEFU_PG_BIN", "/usr/lib/postgresql/15/bin"))
# A claimed delivery whose sender died is retried after the lease: short, so that the retry fits the run.
FAULT_ENV = {"KEFU_DELIVERY_LEASE_SECONDS": "5", "KEFU_RETRY_BASE_SECONDS": "1"}


# ------------------------------------------------------------------------------------------ PostgreSQL


class PrivateCluster:
    """A PostgreSQL cluster of this run's own (initdb in a temporary directory, its own port and socket),
    so that restarting it disturbs no one else. As root, the server runs as the `postgres` user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.log = root / "postgres.log"
        self.port = free_port()

    @staticmethod
    def available() -> bool:
        return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()

    def _as_owner(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def _run(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run(self._as_owner(*argv), check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.socket_dir}'\nmax_connections = 100\n")
        self.start()

    @property
    def server(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "restart", "-l", str(self.log))

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------------------------------ background tasks


def queue_tasks(env: dict[str, str], count: int) -> None:
    """`count` background tasks (rebuilding search documents of the seed's tickets), for the worker."""
    load.kefu(env, "shell", "-c", (
        "from kefu.tickets.models import Ticket; from kefu.tickets.tasks import reindex_ticket;"
        f"[reindex_ticket.enqueue(pk) for pk in Ticket.objects.order_by('pk').values_list('pk', flat=True)[:{count}]]"))


# ------------------------------------------------------------------------------------------ kills


def kill_process(stack: load.Stack, kind: str) -> dict[str, Any]:
    """SIGKILL one process of `kind` ("web": a `kefu serve` worker, "worker", "scheduler"); a web worker
    is brought back by its supervisor, the others are started again here. Returns what happened."""
    started = time.monotonic()
    if kind == "web":
        pid = random.choice(stack.web_worker_pids())
        os.kill(pid, signal.SIGKILL)
        back = stack.wait_for_web_workers(60, not_pid=pid)
        return {"kind": kind, "pid": pid, "replaced_after_s": round(back, 2)}
    proc = stack.worker if kind == "worker" else stack.scheduler
    assert proc is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    time.sleep(1)  # down for a moment, as under a supervisor's restart delay
    (stack.start_worker if kind == "worker" else stack.start_scheduler)()
    return {"kind": kind, "pid": proc.pid, "restarted_after_s": round(time.monotonic() - started, 2)}


def kills_during(stack: load.Stack, env: dict[str, str], plan: list[tuple[float, str]],
                 tasks_before_worker_kill: int) -> Callable[[load.Traffic, float], dict[str, Any]]:
    def during(t: load.Traffic, duration: float) -> dict[str, Any]:
        done: list[dict[str, Any]] = []
        for share, kind in plan:
            _sleep_until(t, share * duration)
            if kind == "worker" and tasks_before_worker_kill:
                queue_tasks(env, tasks_before_worker_kill)
                time.sleep(0.5)  # the worker has taken some
            event = kill_process(stack, kind)
            event["at_s"] = round(time.monotonic() - t.stats.started, 1)
            done.append(event)
        return {"kills": done}

    return during


def _sleep_until(t: load.Traffic, moment: float) -> None:
    delay = moment - (time.monotonic() - t.stats.started)
    if delay > 0:
        time.sleep(delay)


def run_kills(workdir: Path, *, pg: str, duration: float, tickets: int, clients: dict[str, int],
              seed_database: str | None = None, static_from: Path | None = None, tasks: int = 300,
              plan: list[tuple[float, str]] | None = None) -> dict[str, Any]:
    """The kills scenario; `seed_database`: copy this seeded database instead of seeding a new one."""
    name = f"kefu_faults_{os.getpid()}"
    url = load.recreate_database(pg, name, template=seed_database)
    try:
        setup = load.prepare(workdir, url, tickets=tickets, seeded=seed_database is not None, extra_env=FAULT_ENV,
                             static_from=static_from)
        stack = load.Stack(setup.env, setup.port, workdir / "logs")
        plan = plan or [(0.15, "web"), (0.35, "worker"), (0.55, "scheduler"), (0.75, "web")]
        try:
            stack.start()
            result = load.run_load(setup, stack, duration=duration, clients=clients,
                                   during=kills_during(stack, setup.env, plan, tasks))
            result["verification"] = load.verify(setup.env, result["_ledger"], workdir)
            result["tasks"] = result["verification"]["tasks"]
            result["alive_at_end"] = stack.alive()
        finally:
            stack.stop()
    finally:
        load.drop_database(pg, name)
    result["failures"] = load.failures(result["operations"])
    return load.public(result)


# ------------------------------------------------------------------------------------------ PostgreSQL restarts


def outages_during(cluster: PrivateCluster, env: dict[str, str], plan: list[tuple[float, str]],
                   down_s: float) -> Callable[[load.Traffic, float], dict[str, Any]]:
    """At each (share of the run, mode): "fast"/"immediate" restart the server; "down" stops it
    (immediate), leaves it down for `down_s` seconds, then starts it. Afterwards a few background tasks are
    queued: the worker must still be there to do them."""

    def during(t: load.Traffic, duration: float) -> dict[str, Any]:
        events = []
        for share, mode in plan:
            _sleep_until(t, share * duration)
            began = time.monotonic()
            if mode == "down":
                cluster.stop("immediate")
                time.sleep(down_s)
                cluster.start()
            else:
                cluster.restart(mode)
            back = time.monotonic()
            # Recovered: the first request that succeeds after the server accepts connections again.
            deadline = back + 60
            first = None
            while first is None and time.monotonic() < deadline:
                first = t.stats.first_success_after(back - t.stats.started)
                time.sleep(0.1)
            events.append({
                "mode": mode, "at_s": round(began - t.stats.started, 1),
                "server_down_s": round(back - began, 2),
                "first_success_after_restart_s": None if first is None else round(first - (back - t.stats.started), 2),
                "recovery_s": None if first is None else round(first - (began - t.stats.started), 2)})
        queue_tasks(env, 20)  # the worker must carry on after the outages
        return {"outages": events}

    return during


def run_postgres_restarts(workdir: Path, *, duration: float, tickets: int, clients: dict[str, int],
                          seed_url: str | None = None, static_from: Path | None = None,
                          plan: list[tuple[float, str]] | None = None, down_s: float = 15.0) -> dict[str, Any]:
    """The PostgreSQL scenario on a private cluster; `seed_url`: dump this seeded database into it."""
    cluster = PrivateCluster(Path(tempfile.mkdtemp(prefix="kefu-pg-")))
    try:
        cluster.init()
        if seed_url is not None:
            url = load.copy_database(seed_url, cluster.server, "kefu_restart")
        else:
            url = load.recreate_database(cluster.server, "kefu_restart")
        setup = load.prepare(workdir, url, tickets=tickets, seeded=seed_url is not None, extra_env=FAULT_ENV,
                             static_from=static_from)
        stack = load.Stack(setup.env, setup.port, workdir / "logs")
        plan = plan or [(0.25, "fast"), (0.55, "down")]
        try:
            stack.start()
            result = load.run_load(setup, stack, duration=duration, clients=clients,
                                   during=outages_during(cluster, setup.env, plan, down_s))
            result["alive_at_end"] = stack.alive()
            result["verification"] = load.verify(setup.env, result["_ledger"], workdir)
            result["tasks"] = result["verification"]["tasks"]
        finally:
            stack.stop()
    finally:
        cluster.destroy()
    result["failures"] = load.failures(result["operations"])
    return load.public(result)


# ------------------------------------------------------------------------------------------ report


def summary(name: str, result: dict[str, Any]) -> str:
    totals = result["verification"]["totals"]
    lines = [f"## {name}", "", load.table(result), "",
             f"failures: {result['failures']}; slowest failed request {result['slowest_failure_s']} s;"
             f" alive at the end: {result['alive_at_end']}; tasks: {result['tasks']}",
             f"lost {totals['lost']}, duplicated {totals['duplicated']}, half-written {totals['half_written']},"
             f" acknowledged {totals['acknowledged']}, unacknowledged (cut) {totals['unacknowledged']},"
             f" mails re-sent under the same key {totals['notifications_resent_same_key']}"]
    lines.append("events: " + json.dumps(result["during"], ensure_ascii=False))
    return "\n".join(lines)


def proof_line(name: str, result: dict[str, Any]) -> str:
    """The scenario in one line, for make proof's report (docs/reliability.md)."""
    totals = result["verification"]["totals"]
    return (f"{name}: acknowledged {totals['acknowledged']}, lost {totals['lost']}, duplicated "
            f"{totals['duplicated']}, half-written {totals['half_written']}; errors {result['failures']['errors']}, "
            f"requests cut by the fault {result['failures']['cut']}, slowest failed request "
            f"{result['slowest_failure_s']} s; all processes alive at the end: {all(result['alive_at_end'].values())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of load per scenario (default 90)")
    parser.add_argument("--only", choices=["kills", "postgres"], default=None)
    parser.add_argument("--pg", default=load.PG_SERVER, help="PostgreSQL server for the kills scenario")
    parser.add_argument("--tickets", type=int, default=1000, help="seeded tickets")
    parser.add_argument("--clients", default="")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work" / "faults"))
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    clients = load.parse_clients(args.clients)
    workdir = Path(args.workdir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                               "machine": load.machine(),
                               "command": " ".join(["python", "bench/faults.py",
                                                    *(argv if argv is not None else sys.argv[1:])])}
    if args.only in {None, "kills"}:
        results["kills"] = run_kills(workdir / "kills", pg=args.pg, duration=args.duration, tickets=args.tickets,
                                     clients=clients)
        print(summary("kill -9 under load", results["kills"]), flush=True)
        figure(proof_line("kill -9 of a web process, the worker, the scheduler and a web process again, under load",
                          results["kills"]))
    if args.only in {None, "postgres"}:
        if not PrivateCluster.available():
            raise SystemExit(f"no PostgreSQL server binaries in {PG_BIN} (set KEFU_PG_BIN)")
        results["postgres"] = run_postgres_restarts(workdir / "postgres", duration=args.duration,
                                                    tickets=args.tickets, clients=clients)
        print(summary("PostgreSQL restarted under load", results["postgres"]), flush=True)
        figure(proof_line("PostgreSQL restarted twice under load (fast, and 15 s down)", results["postgres"]))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    ok = all(r["verification"]["totals"]["lost"] == 0 and r["verification"]["totals"]["duplicated"] == 0
             and r["verification"]["totals"]["half_written"] == 0 and r["failures"]["errors"] == 0
             and all(r["alive_at_end"].values())
             for key, r in results.items() if key in {"kills", "postgres"})
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
