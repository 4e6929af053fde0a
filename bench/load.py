"""Load and soak test: mixed traffic against kefu's production setup on loopback, for a bounded time.

    python bench/load.py [--duration 120] [--output bench/results/load.json]
        [--pg postgres://postgres@127.0.0.1:5432] [--database kefu_load] [--tickets 2000]

The stack is docs/operations.md's production setup, all on 127.0.0.1: `kefu serve` (uvicorn) with
3 worker processes, PostgreSQL, the Redis channel layer (KEFU_CHANNEL_LAYER=redis), one `kefu worker`
and one `kefu scheduler`, with KEFU_PRODUCTION=1 (as bench/run.py and bench/peers/adapter_kefu.py run it;
no HTTPS redirect, outgoing mail to Django's file backend so that every delivery can be counted). The
database is created afresh (createdb) and seeded by bench/generate.py.

Traffic, from client threads with the standard library's HTTP client and `websockets` (closed loop, no
think time):
  * customers: the portal form (GET /portal/new/, POST, the acknowledgement page with the number and the
    tracking link), then a reply through the tracking link (the page, POST .../reply/, the page again);
  * agents: signed in through the login form, list tickets, open one, reply to a ticket customers opened
    during the run (CSRF token from the page, POST .../reply/, the page with the outcome);
  * inbound mail: raw RFC 822 messages to POST /api/v1/inbox/email (an administrator's token);
  * live chat: a visitor starts a chat in the widget, an agent finds it on the chat desk and takes it over
    the WebSocket, both sides exchange messages (each acknowledged by its own copy coming back), the
    visitor leaves.

Every write the server acknowledged goes into a client-side ledger (the ticket number from the
acknowledgement page or the API's answer, the unique marker of each reply, each chat message's
client_id); at the end the ledger is checked against the database (`verify`): nothing acknowledged is
missing, nothing is there twice, every ticket is whole (its message, its timeline, its acknowledgement
mail), and every outbox row was delivered, each under its idempotency key. bench/faults.py runs the
same traffic while it kills processes.

Reported per operation: count, throughput, p50/p95/p99 latency, failures (must be 0); and the RSS of
every server process, sampled every few seconds (first third of the run against the last third).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import AGENT_PASSWORD, AGENT_USERNAME  # noqa: E402
from bench.run import rss_kib  # noqa: E402
from kefu.testing.net import free_port, wait_for_port, web_workers  # noqa: E402
from kefu.testing.proof import figure  # noqa: E402

PG_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/13"
ADMIN_USERNAME = "load-admin"
HTTP_TIMEOUT_S = 30.0  # a request that takes longer counts as hung
WS_TIMEOUT_S = 15.0
WEB_WORKERS = 3
DEFAULT_CLIENTS = {"customer": 2, "agent": 2, "mail": 1, "chat": 1}


# ------------------------------------------------------------------------------------------ database


def database_url(server: str, name: str) -> str:
    return f"{server.rstrip('/')}/{name}"


def _pg_args(server: str) -> list[str]:
    parsed = urllib.parse.urlsplit(server)
    host = urllib.parse.unquote(parsed.hostname or "127.0.0.1")
    return ["-h", host, "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]


def recreate_database(server: str, name: str, *, template: str | None = None) -> str:
    """A new, empty (or copied) database on `server`; an older one of the same name is dropped first."""
    subprocess.run(["dropdb", *_pg_args(server), "--if-exists", "--force", name], check=True, capture_output=True)
    extra = ["-T", template] if template else []
    subprocess.run(["createdb", *_pg_args(server), *extra, name], check=True, capture_output=True)
    return database_url(server, name)


def drop_database(server: str, name: str) -> None:
    subprocess.run(["dropdb", *_pg_args(server), "--if-exists", "--force", name], check=False, capture_output=True)


def copy_database(source_url: str, target_server: str, name: str) -> str:
    """The source database dumped into a new database on another server (a private cluster)."""
    url = recreate_database(target_server, name)
    source = urllib.parse.urlsplit(source_url)
    dump = subprocess.Popen(["pg_dump", *_pg_args(source_url), "--no-owner", source.path.lstrip("/")],
                            stdout=subprocess.PIPE)
    assert dump.stdout is not None
    with dump.stdout:
        subprocess.run(["psql", *_pg_args(target_server), "-q", "-v", "ON_ERROR_STOP=1", "-d", name],
                       stdin=dump.stdout, check=True, capture_output=True)
    if dump.wait() != 0:
        raise RuntimeError("pg_dump failed")
    return url


def server_env(url: str, data_dir: Path, *, port: int, secret_key: str, extra: dict[str, str] | None = None,
               channel_prefix: str = "") -> dict[str, str]:
    """The environment of every server process: production settings over plain HTTP on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    origin = f"http://127.0.0.1:{port}"
    env.update({
        "DJANGO_SETTINGS_MODULE": "kefu.settings", "PYTHONDONTWRITEBYTECODE": "1",
        "DATABASE_URL": url, "KEFU_DATA_DIR": str(data_dir), "KEFU_SECRET_KEY": secret_key,
        "KEFU_PRODUCTION": "1", "KEFU_DEBUG": "0", "KEFU_SSL_REDIRECT": "0",
        "KEFU_ALLOWED_HOSTS": "127.0.0.1,localhost", "KEFU_CSRF_TRUSTED_ORIGINS": origin, "KEFU_PUBLIC_URL": origin,
        # Every delivery lands in a file (one per message) under <data dir>/sent-mail, to be counted.
        "KEFU_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "KEFU_MAIL_VERIFY_DKIM": "0",  # no DNS on this machine
        "KEFU_CHANNEL_LAYER": "redis", "REDIS_URL": REDIS_URL,
        "KEFU_CHANNEL_PREFIX": channel_prefix or f"kefu-load-{os.getpid()}-{port}",
    })
    env.update(extra or {})
    return env


def kefu(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, "-m", "kefu", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kefu {' '.join(args)[:80]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def seed(env: dict[str, str], *, tickets: int) -> None:
    """Schema, the benchmark data set (bench/generate.py: bench-agent and customer<N>@bench.example) and an
    administrator for the mail endpoint."""
    kefu(env, "migrate", "-v0")
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--tickets", str(tickets),
                    "--messages", "3", "--customers", str(max(20, tickets // 5)), "--no-progress"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=1800)
    kefu(env, "shell", "-c", (
        "from kefu.accounts.models import Role, User; from kefu.accounts.services import create_staff_user;"
        f"User.objects.filter(username='{ADMIN_USERNAME}').exists() or create_staff_user("
        f"username='{ADMIN_USERNAME}', email='{ADMIN_USERNAME}@staff.bench.example', display_name='Load Admin',"
        f" role=Role.ADMIN, password='{AGENT_PASSWORD}', departments=(), actor=None)"))


def admin_token(env: dict[str, str]) -> tuple[str, int]:
    """A new API token of the administrator, and how many seeded customers there are."""
    out = kefu(env, "shell", "-c", (
        "from kefu.accounts.models import User; from kefu.accounts.services import issue_api_token;"
        "from kefu.customers.models import Customer;"
        f"a = User.objects.get(username='{ADMIN_USERNAME}'); print(issue_api_token(a, 'load', actor=a)[1],"
        " Customer.objects.filter(email__endswith='@bench.example').count())"))
    token, customers = out.strip().splitlines()[-1].split()
    return token, int(customers)


# ------------------------------------------------------------------------------------------ processes


def _stop(proc: subprocess.Popen[bytes] | None, *, seconds: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Stack:
    """The production processes: `kefu serve` (a supervisor and its workers), `kefu worker`, `kefu scheduler`."""

    def __init__(self, env: dict[str, str], port: int, log_dir: Path, *, web_workers: int = WEB_WORKERS) -> None:
        self.env, self.port, self.log_dir, self.web_workers = env, port, log_dir, web_workers
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.scheduler: subprocess.Popen[bytes] | None = None
        log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
            return subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> None:
        self.start_web()
        self.start_worker()
        self.start_scheduler()

    def start_web(self) -> None:
        # --proxy-headers from 127.0.0.1: each anonymous client says who it is in X-Forwarded-For, as a
        # reverse proxy would, so that the per-address limits count visitors, not the load generator.
        self.web = self._spawn("web", [
            "-m", "kefu", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.web_workers), "--timeout-keep-alive", "30",
            "--log-level", "warning", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"])
        wait_for_port(self.port, seconds=90, process=self.web, log=self.log_dir / "web.log")
        self.wait_for_web_workers(90)

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", ["-m", "kefu", "worker", "--interval", "0.5", "--no-startup-delay"])

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn("scheduler", ["-m", "kefu", "scheduler"])

    def web_worker_pids(self) -> list[int]:
        """The web server's worker processes (spawned children), not its multiprocessing resource tracker."""
        if self.web is None:
            return []
        return web_workers(self.web.pid)

    def wait_for_web_workers(self, seconds: float, *, not_pid: int | None = None) -> float:
        """Until all web workers run (and `not_pid`, a killed one, is gone); returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            pids = self.web_worker_pids()
            if len(pids) == self.web_workers and not_pid not in pids:
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"kefu serve did not bring back {self.web_workers} workers within {seconds} s")

    def processes(self) -> dict[str, int]:
        """Role → pid of every server process, for the memory samples."""
        out: dict[str, int] = {}
        if self.web is not None:
            out["web-supervisor"] = self.web.pid
            for n, pid in enumerate(self.web_worker_pids()):
                out[f"web-{n + 1}"] = pid
        for name, proc in (("worker", self.worker), ("scheduler", self.scheduler)):
            if proc is not None and proc.poll() is None:
                out[name] = proc.pid
        return out

    def alive(self) -> dict[str, bool]:
        return {name: proc is not None and proc.poll() is None
                for name, proc in (("web", self.web), ("worker", self.worker), ("scheduler", self.scheduler))}

    def stop(self) -> None:
        for proc in (self.web, self.worker, self.scheduler):
            _stop(proc)


# ------------------------------------------------------------------------------------------ statistics


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Stats:
    """Per operation: latencies of the answers that were right, and failures by kind.

    A failure is "cut" when the connection broke, timed out or the server answered 5xx (what a killed process
    or a database outage causes), "error" when the server answered something wrong (any other status, a page
    without what it must show)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok: dict[str, list[float]] = {}
        self.ok_at: dict[str, list[float]] = {}
        self.failures: dict[str, dict[str, int]] = {}
        self.samples: dict[str, list[str]] = {}
        self.slowest_failure_s = 0.0
        self.started = time.monotonic()

    def record_ok(self, op: str, seconds: float) -> None:
        with self.lock:
            self.ok.setdefault(op, []).append(seconds)
            self.ok_at.setdefault(op, []).append(time.monotonic() - self.started)

    def record_failure(self, op: str, kind: str, detail: str, seconds: float = 0.0) -> None:
        with self.lock:
            counts = self.failures.setdefault(op, {})
            counts[kind] = counts.get(kind, 0) + 1
            self.slowest_failure_s = max(self.slowest_failure_s, seconds)
            kept = self.samples.setdefault(op, [])
            if len(kept) < 5:
                kept.append(f"{kind}: {detail[:300]}")

    def successes_after(self, moment: float) -> int:
        with self.lock:
            return sum(1 for times in self.ok_at.values() for t in times if t >= moment)

    def first_success_after(self, moment: float) -> float | None:
        with self.lock:
            after = [t for times in self.ok_at.values() for t in times if t >= moment]
        return min(after) if after else None

    def summary(self, seconds: float) -> dict[str, Any]:
        with self.lock:
            ops = sorted(set(self.ok) | set(self.failures))
            out: dict[str, Any] = {}
            for op in ops:
                times = [t * 1000 for t in self.ok.get(op, [])]
                fails = self.failures.get(op, {})
                out[op] = {"n": len(times), "per_s": round(len(times) / seconds, 2) if seconds else None,
                           "p50_ms": _round(pct(times, 50)), "p95_ms": _round(pct(times, 95)),
                           "p99_ms": _round(pct(times, 99)), "max_ms": _round(max(times) if times else None),
                           "errors": fails.get("error", 0), "cut": fails.get("cut", 0),
                           "failure_samples": self.samples.get(op, [])}
            return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class MemorySampler(threading.Thread):
    """RSS of every server process every `every` seconds, while the load runs."""

    def __init__(self, stack: Stack, every: float) -> None:
        super().__init__(daemon=True)
        self.stack, self.every = stack, every
        self.samples: list[tuple[float, str, int, int]] = []  # (seconds since start, role, pid, KiB)
        self.halt = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.halt.is_set():
            moment = time.monotonic() - self.started_at
            for role, pid in self.stack.processes().items():
                kib = rss_kib(pid)
                if kib is not None:
                    self.samples.append((moment, role, pid, kib))
            self.halt.wait(self.every)

    def summary(self) -> dict[str, Any]:
        """Mean RSS per process (role and pid: a restarted process is another one) in the first and the last
        third of the run, and the total of all server processes at each sample."""
        if not self.samples:
            return {}
        end = max(s[0] for s in self.samples)
        first, last = end / 3, end * 2 / 3
        per: dict[str, dict[str, list[int]]] = {}
        totals: dict[float, int] = {}
        for moment, role, pid, kib in self.samples:
            part = "first" if moment <= first else "last" if moment >= last else "middle"
            per.setdefault(f"{role}:{pid}", {}).setdefault(part, []).append(kib)
            totals[moment] = totals.get(moment, 0) + kib
        processes = {}
        for key, parts in per.items():
            if "first" in parts and "last" in parts:
                a, b = _mean_mib(parts["first"]), _mean_mib(parts["last"])
                processes[key] = {"first_third_mib": a, "last_third_mib": b, "growth_mib": round(b - a, 1),
                                  "growth_pct": round((b - a) / a * 100, 1) if a else None}
        first_total = _mean_mib([v for t, v in totals.items() if t <= first])
        last_total = _mean_mib([v for t, v in totals.items() if t >= last])
        # The series (at most ~40 points) shows warm-up apart from steady growth: RSS per role over time.
        step = max(1, len(totals) // 40)
        moments = sorted(totals)[::step]
        series = {"t_s": [round(m, 1) for m in moments], "total_mib": [round(totals[m] / 1024, 1) for m in moments]}
        for role in ("worker", "scheduler"):
            by_moment = {m: kib for m, r, _pid, kib in self.samples if r == role}
            series[f"{role}_mib"] = [round(by_moment[m] / 1024, 1) if m in by_moment else None for m in moments]
        return {"sample_every_s": self.every, "samples": len(totals), "processes": processes, "series": series,
                "total_first_third_mib": first_total, "total_last_third_mib": last_total,
                "total_growth_mib": round(last_total - first_total, 1),
                "total_growth_pct": round((last_total - first_total) / first_total * 100, 1) if first_total else None}


def _mean_mib(kib: list[int]) -> float:
    return round(sum(kib) / len(kib) / 1024, 1) if kib else 0.0


# ------------------------------------------------------------------------------------------ HTTP client


class Cut(Exception):
    """The request got no answer: the connection broke or the server did not answer in time."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Browser:
    """One client: a keep-alive connection and a cookie jar. A broken connection is reopened for the next
    request, never retried for this one (a POST must not be sent twice behind the user's back)."""

    def __init__(self, port: int, *, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers = {"Accept-Language": "en", **(headers or {})}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        h = {**self.headers, **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=h)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Cut(f"{type(exc).__name__}: {exc}") from exc
        seconds = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, rest = value.partition("=")
                value_part = rest.split(";", 1)[0]
                if value_part in {"", '""'}:
                    self.cookies.pop(cookie.strip(), None)
                else:
                    self.cookies[cookie.strip()] = value_part
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise ValueError("no CSRF token on the page")
    return match.group(1)


def form(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# ------------------------------------------------------------------------------------------ ledger


class Ledger:
    """What the clients sent and what the server acknowledged, keyed by a marker unique to each write.

    state: "ack" (the server confirmed it: the acknowledgement page, a 202 with the ticket, the chat's copy
    back), "cut" (no answer: the write may or may not have happened, but must not have happened twice or
    by halves), "refused" (the server said no: nothing may have been written twice either)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.lock = threading.Lock()
        self.entries: dict[str, dict[str, Any]] = {}
        self.counter = 0

    def marker(self, kind: str) -> str:
        with self.lock:
            self.counter += 1
            return f"lt{self.run_id}{kind[0]}{self.counter}x"

    def sent(self, kind: str, key: str, **details: Any) -> None:
        with self.lock:
            self.entries[key] = {"kind": kind, "key": key, "state": "cut", **details}

    def settle(self, key: str, state: str, **details: Any) -> None:
        with self.lock:
            self.entries[key].update(state=state, **details)

    def acknowledged(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.entries.values() if e["kind"] == kind and e["state"] == "ack"]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self.lock:
            for entry in self.entries.values():
                kinds = out.setdefault(entry["kind"], {})
                kinds[entry["state"]] = kinds.get(entry["state"], 0) + 1
        return out

    def dump(self, path: Path) -> None:
        with self.lock:
            path.write_text(json.dumps({"run_id": self.run_id, "entries": list(self.entries.values())}))


# ------------------------------------------------------------------------------------------ clients


@dataclass
class Traffic:
    """What every client thread shares."""

    port: int
    stats: Stats
    ledger: Ledger
    stop: threading.Event
    mail_token: str
    customers: int
    tickets: list[dict[str, Any]] = field(default_factory=list)  # acknowledged portal tickets (number, link)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, browser: Browser, op: str, method: str, path: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200,),
             must_show: str = "") -> Answer | None:
        """One request, recorded under `op`; the answer when it was the expected one, else None."""
        started = time.perf_counter()
        try:
            answer = browser.request(method, path, body=body, headers=headers)
        except Cut as exc:
            self.stats.record_failure(op, "cut", f"{method} {path}: {exc}", time.perf_counter() - started)
            return None
        if answer.status in expect and (not must_show or must_show in answer.text):
            self.stats.record_ok(op, answer.seconds)
            return answer
        kind = "cut" if answer.status >= 500 else "error"
        self.stats.record_failure(op, kind, f"{method} {path} → {answer.status} {answer.text[:200]!r}", answer.seconds)
        return None

    def remember(self, ticket: dict[str, Any]) -> None:
        with self.lock:
            self.tickets.append(ticket)

    def some_ticket(self, rng: random.Random) -> dict[str, Any] | None:
        with self.lock:
            return rng.choice(self.tickets[-200:]) if self.tickets else None


def _visitor_address(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def customer_client(t: Traffic, rng: random.Random) -> None:
    """A visitor submits a request on the portal, then writes again through the tracking link."""
    while not t.stop.is_set():
        browser = Browser(t.port, headers={"X-Forwarded-For": _visitor_address(rng)})
        try:
            ticket = submit_on_portal(t, browser, rng)
            if ticket is not None and not t.stop.is_set():
                reply_on_tracking_link(t, browser, ticket)
            older = t.some_ticket(rng)
            if older is not None and rng.random() < 0.3 and not t.stop.is_set():
                reply_on_tracking_link(t, browser, older)
        finally:
            browser.close()


def submit_on_portal(t: Traffic, browser: Browser, rng: random.Random) -> dict[str, Any] | None:
    page = t.call(browser, "portal_form", "GET", "/portal/new/")
    if page is None:
        return None
    marker = t.ledger.marker("ticket_portal")
    n = rng.randint(1, t.customers)
    fields = {"csrfmiddlewaretoken": csrf_token(page.text), "name": f"Customer {n}",
              "email": f"customer{n}@bench.example", "subject": f"退款没有到账 refund not received {marker}",
              "description": f"我申请退款已经一周了。 My refund has not arrived after a week. {marker}",
              "where": "app 3.2", "expected": "the refund"}
    t.ledger.sent("ticket_portal", marker)
    answer = t.call(browser, "portal_submit", "POST", "/portal/new/", body=form(fields), headers=FORM, expect=(302,))
    if answer is None:
        return None
    if not answer.headers.get("location", "").endswith("/portal/new/done/"):
        t.stats.record_failure("portal_submit", "error", f"redirected to {answer.headers.get('location')}")
        t.ledger.settle(marker, "refused")
        return None
    t.ledger.settle(marker, "ack")  # the redirect to the acknowledgement: committed; its number comes next
    done = t.call(browser, "portal_done", "GET", "/portal/new/done/", must_show="ticket-number")
    if done is None:
        return None
    number = re.search(r'class="ticket-number">#(\d+)<', done.text)
    link = re.search(r'<dd><a href="([^"]+/t/[^"]+/)">', done.text)
    if not number or not link:
        t.stats.record_failure("portal_done", "error", "no number or tracking link on the acknowledgement page")
        return None
    ticket = {"number": int(number.group(1)), "path": urllib.parse.urlsplit(link.group(1)).path}
    t.ledger.settle(marker, "ack", **ticket)
    t.remember(ticket)
    return ticket


def reply_on_tracking_link(t: Traffic, browser: Browser, ticket: dict[str, Any]) -> None:
    page = t.call(browser, "track_page", "GET", ticket["path"])
    if page is None or "reply-form" not in page.text:
        return
    marker = t.ledger.marker("customer_reply")
    t.ledger.sent("customer_reply", marker, ticket=ticket["number"])
    text = f"还没有收到，请尽快处理。 Still nothing. {marker}"
    body = form({"csrfmiddlewaretoken": csrf_token(page.text), "body": text})
    answer = t.call(browser, "track_reply", "POST", ticket["path"] + "reply/", body=body, headers=FORM, expect=(302,))
    if answer is None:
        return
    # The outcome is on the page the reply leads back to (the message was sent, or why not).
    shown = t.call(browser, "track_page", "GET", ticket["path"])
    if shown is not None:
        t.ledger.settle(marker, "ack" if "Your message was sent." in shown.text else "refused")


def agent_client(t: Traffic, rng: random.Random) -> None:
    """An agent signed in through the login form: the list, a ticket, a reply."""
    browser = Browser(t.port)
    try:
        while not t.stop.is_set() and not sign_in(t, browser):
            time.sleep(0.5)
        while not t.stop.is_set():
            listing = t.call(browser, "console_list", "GET", "/console/tickets/", must_show="/console/tickets/")
            if listing is None:
                time.sleep(0.2)
                continue
            ids = [int(x) for x in re.findall(r'href="/console/tickets/(\d+)/"', listing.text)]
            if ids:
                t.call(browser, "console_ticket", "GET", f"/console/tickets/{rng.choice(ids)}/")
            ticket = t.some_ticket(rng)
            if ticket is not None and not t.stop.is_set():
                reply_in_console(t, browser, ticket["number"])
    finally:
        browser.close()


def sign_in(t: Traffic, browser: Browser) -> bool:
    page = t.call(browser, "login", "GET", "/login/")
    if page is None:
        return False
    fields = {"username": AGENT_USERNAME, "password": AGENT_PASSWORD, "csrfmiddlewaretoken": csrf_token(page.text)}
    answer = t.call(browser, "login", "POST", "/login/", body=form(fields), headers=FORM, expect=(302,))
    return answer is not None and "sessionid" in browser.cookies


def reply_in_console(t: Traffic, browser: Browser, number: int) -> None:
    path = f"/console/tickets/{number}/"
    page = t.call(browser, "console_ticket", "GET", path)
    if page is None:
        return
    marker = t.ledger.marker("agent_reply")
    t.ledger.sent("agent_reply", marker, ticket=number)
    text = f"已为您加急处理。 We have escalated it. {marker}"
    body = form({"csrfmiddlewaretoken": csrf_token(page.text), "body": text})
    answer = t.call(browser, "console_reply", "POST", path + "reply/", body=body, headers=FORM, expect=(302,))
    if answer is None:
        return
    shown = t.call(browser, "console_ticket", "GET", path)
    if shown is not None:
        t.ledger.settle(marker, "ack" if "Your reply was sent to the customer." in shown.text else "refused")


def raw_mail(marker: str, sender: str) -> bytes:
    return (f"From: Customer <{sender}>\r\nTo: support@kefu.localhost\r\n"
            f"Subject: =?utf-8?b?5Y+R56Wo5rKh5pS25Yiw?= invoice missing {marker}\r\n"
            f"Message-ID: <{marker}@mail.bench.example>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0800\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"您好，发票还没有收到。\r\nThe invoice has not arrived. {marker}\r\n").encode()


def mail_client(t: Traffic, rng: random.Random) -> None:
    """A mail server hands over each message it receives (POST /api/v1/inbox/email)."""
    browser = Browser(t.port, headers={"Authorization": f"Bearer {t.mail_token}", "Content-Type": "message/rfc822"})
    try:
        while not t.stop.is_set():
            marker = t.ledger.marker("ticket_mail")
            message_id = f"<{marker}@mail.bench.example>"
            t.ledger.sent("ticket_mail", marker, message_id=message_id)
            sender = f"customer{rng.randint(1, t.customers)}@bench.example"
            answer = t.call(browser, "inbound_mail", "POST", "/api/v1/inbox/email", body=raw_mail(marker, sender),
                            expect=(202,))
            if answer is None:
                continue
            out = json.loads(answer.body)
            if out.get("outcome") == "retry":
                # Stored, its processing failed (the database went away mid-way): the mail server may delete it,
                # kefu's inbox sweep opens the ticket later. Acknowledged; the check waits for the sweep.
                t.ledger.settle(marker, "ack")
                continue
            if out.get("outcome") != "new_ticket" or not out.get("ticket"):
                t.stats.record_failure("inbound_mail", "error", f"outcome {out}")
                t.ledger.settle(marker, "refused")
                continue
            t.ledger.settle(marker, "ack", number=out["ticket"])
    finally:
        browser.close()


def chat_client(t: Traffic, rng: random.Random) -> None:
    """A visitor chats with an agent: start, take, a few messages each way, leave."""
    agent = Browser(t.port)
    try:
        while not t.stop.is_set() and not sign_in(t, agent):
            time.sleep(0.5)
        while not t.stop.is_set():
            one_chat(t, rng, agent)
    finally:
        agent.close()


def one_chat(t: Traffic, rng: random.Random, agent: Browser) -> None:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    visitor = Browser(t.port, headers={"X-Forwarded-For": _visitor_address(rng)})
    marker = t.ledger.marker("chat")
    started = t.call(visitor, "chat_start", "POST", "/chat/widget/", body=form({"name": f"Visitor {marker}"}),
                     headers=FORM, must_show="/ws/chat/")
    visitor.close()
    if started is None:
        time.sleep(0.2)
        return
    token = re.search(r'/ws/chat/([^/"]+)/', started.text)
    if token is None:
        t.stats.record_failure("chat_start", "error", "no chat socket on the page")
        return
    desk = t.call(agent, "chat_desk", "GET", "/console/chats/")
    if desk is None:
        return
    chat_id = re.search(r'data-chat-id="(\d+)">\s*<div>\s*<h2>Visitor ' + marker, desk.text)
    if chat_id is None:
        t.stats.record_failure("chat_desk", "error", f"the new chat {marker} is not on the desk")
        return
    origin = {"Origin": f"http://127.0.0.1:{t.port}"}
    base = f"ws://127.0.0.1:{t.port}"
    cookie = "; ".join(f"{k}={v}" for k, v in agent.cookies.items())
    try:
        with connect(f"{base}/ws/chat/{token.group(1)}/", additional_headers=origin,
                     open_timeout=WS_TIMEOUT_S) as vis, \
                connect(f"{base}/ws/console/chats/{chat_id.group(1)}/", additional_headers={**origin, "Cookie": cookie},
                        open_timeout=WS_TIMEOUT_S) as desk_ws:
            began = time.perf_counter()
            desk_ws.send(json.dumps({"type": "take"}))
            _until(vis, lambda e: e.get("type") == "state" and e.get("state") == "active")
            t.stats.record_ok("chat_take", time.perf_counter() - began)
            for n in range(6):
                if t.stop.is_set():
                    break
                sender = vis if n % 2 == 0 else desk_ws
                client_id = f"{marker}-{n}"
                t.ledger.sent("chat_message", client_id, chat=int(chat_id.group(1)))
                began = time.perf_counter()
                sender.send(json.dumps({"type": "message", "body": f"消息 message {n} {marker}",
                                        "client_id": client_id}))
                _until(sender, lambda e, c=client_id: e.get("type") == "message" and e.get("client_id") == c)
                t.stats.record_ok("chat_message", time.perf_counter() - began)
                t.ledger.settle(client_id, "ack")
            vis.send(json.dumps({"type": "leave"}))
            _until(vis, lambda e: e.get("type") == "state" and e.get("state") not in {"active", "queued"})
    except (OSError, TimeoutError, WebSocketException) as exc:
        t.stats.record_failure("chat_message", "cut", f"{type(exc).__name__}: {exc}")


def _until(ws: Any, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WS_TIMEOUT_S
    while True:
        event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event.get("type") == "error":
            raise OSError(f"chat error: {event}")
        if wanted(event):
            return event


CLIENTS: dict[str, Callable[[Traffic, random.Random], None]] = {
    "customer": customer_client, "agent": agent_client, "mail": mail_client, "chat": chat_client}


@contextlib.contextmanager
def traffic(t: Traffic, clients: dict[str, int], seed: int) -> Iterator[list[threading.Thread]]:
    """The client threads run while the block runs; they stop (and are joined) when it ends."""
    threads = []
    for kind, count in clients.items():
        for n in range(count):
            rng = random.Random(f"{seed}-{kind}-{n}")
            threads.append(threading.Thread(target=_guarded, args=(t, CLIENTS[kind], rng), name=f"{kind}-{n}",
                                            daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        t.stop.set()
        for thread in threads:
            thread.join(timeout=HTTP_TIMEOUT_S + WS_TIMEOUT_S + 5)


def _guarded(t: Traffic, client: Callable[[Traffic, random.Random], None], rng: random.Random) -> None:
    """A client that breaks on something unexpected starts again (and the failure is counted)."""
    while not t.stop.is_set():
        try:
            client(t, rng)
        except Exception as exc:  # a page without its form, an unreadable answer: the server's fault
            t.stats.record_failure("client", "error", f"{type(exc).__name__}: {exc}")
            time.sleep(0.5)


# ------------------------------------------------------------------------------------------ verification


def verify_in_database(ledger_path: Path, sent_mail: Path, wait_s: float) -> dict[str, Any]:
    """In a process with Django set up on the load's database: the ledger against what the database holds
    and what the mail backend wrote. Waits up to `wait_s` for the outbox to drain first."""
    import django

    django.setup()
    from collections import Counter

    from django.db.models import Count

    from kefu.chat.models import ChatMessage
    from kefu.inbox.models import InboundEmail
    from kefu.notifications.models import Notification
    from kefu.notifications.services import delivery_key
    from kefu.tickets.models import Message, Ticket, TicketEvent

    data = json.loads(ledger_path.read_text())
    entries: list[dict[str, Any]] = data["entries"]
    prefix = f"lt{data['run_id']}"
    report: dict[str, Any] = {}

    def tally(kind: str, found: dict[str, int]) -> dict[str, int]:
        """Per ledger kind: acknowledged and found once; lost (acknowledged, not found); duplicated (found
        more than once); and what became of the writes without an acknowledgement."""
        out = {"acknowledged": 0, "found_once": 0, "lost": 0, "duplicated": 0, "unacknowledged": 0,
               "unacknowledged_found": 0}
        for entry in (e for e in entries if e["kind"] == kind):
            n = found.get(entry["key"], 0)
            if entry["state"] == "ack":
                out["acknowledged"] += 1
                out["found_once" if n == 1 else "lost" if n == 0 else "duplicated"] += 1
            else:
                out["unacknowledged"] += 1
                out["unacknowledged_found"] += min(n, 1)
                out["duplicated"] += int(n > 1)
        return out

    # Mail stored during an outage and answered "retry" is processed by the scheduler's inbox sweep, whose first
    # retry comes a minute later (kefu.inbox.services.RETRY_BASE_SECONDS × 2): wait for it.
    settled_by = time.monotonic() + max(wait_s, 150)
    while (InboundEmail.objects.filter(message_id__contains=prefix, state=InboundEmail.State.RECEIVED).exists()
           and time.monotonic() < settled_by):
        time.sleep(1)
    # Tickets: by the marker in their subject (portal and mail alike). A chat the visitor left before an
    # agent wrote becomes a ticket too, with the visitor's name (and marker) in its subject: not counted here.
    ticket_markers = {e["key"] for e in entries if e["kind"].startswith("ticket_")}
    by_marker: dict[str, list[int]] = {}
    for pk, subject in Ticket.objects.filter(subject__contains=prefix).values_list("pk", "subject"):
        marker = next(word for word in subject.split() if word.startswith(prefix))
        if marker in ticket_markers:
            by_marker.setdefault(marker, []).append(pk)
    ticket_ids = [pk for pks in by_marker.values() for pk in pks]
    report["ticket_portal"] = tally("ticket_portal", {m: len(v) for m, v in by_marker.items()})
    report["ticket_mail"] = tally("ticket_mail", {m: len(v) for m, v in by_marker.items()})
    # Each acknowledged number is the ticket that carries its marker.
    wrong_number = sum(1 for e in entries if e["state"] == "ack" and e["kind"].startswith("ticket_")
                       and "number" in e and e["number"] not in by_marker.get(e["key"], []))
    inbound = dict(InboundEmail.objects.filter(message_id__contains=prefix).values("message_id")
                   .annotate(n=Count("id")).values_list("message_id", "n"))
    stored_twice = sum(1 for n in inbound.values() if n > 1)

    # Whole tickets: the opening message, the "created" event, the acknowledgement to the customer.
    opening = set(Message.objects.filter(ticket_id__in=ticket_ids, kind=Message.Kind.CUSTOMER)
                  .values_list("ticket_id", flat=True))
    created = dict(TicketEvent.objects.filter(ticket_id__in=ticket_ids, type="created").values("ticket_id")
                   .annotate(n=Count("id")).values_list("ticket_id", "n"))
    acknowledged_by_mail = dict(Notification.objects.filter(ticket_id__in=ticket_ids, template="ticket_received")
                                .values("ticket_id").annotate(n=Count("id")).values_list("ticket_id", "n"))
    half = [pk for pk in ticket_ids
            if pk not in opening or created.get(pk) != 1 or acknowledged_by_mail.get(pk) != 1]
    report["tickets_whole"] = {"tickets": len(ticket_ids), "half": len(half), "half_examples": half[:10],
                               "wrong_number": wrong_number, "inbound_stored_twice": stored_twice}

    # Replies: one message each, with its timeline event (and, for an agent's, the mail to the customer).
    reply_markers = {e["key"] for e in entries if e["kind"] in {"customer_reply", "agent_reply"}}
    messages = [m for m in Message.objects.filter(body_text__contains=prefix)
                .values_list("pk", "ticket_id", "kind", "body_text") if m[3].split()[-1] in reply_markers]
    replies: dict[str, list[int]] = {}
    for pk, _ticket, _kind, body in messages:
        replies.setdefault(body.split()[-1], []).append(pk)
    report["customer_reply"] = tally("customer_reply", {m: len(v) for m, v in replies.items()})
    report["agent_reply"] = tally("agent_reply", {m: len(v) for m, v in replies.items()})
    reply_ids = [pk for pks in replies.values() for pk in pks]
    with_event = set(TicketEvent.objects.filter(type__in=["replied", "customer_message"],
                                                payload__message_id__in=reply_ids)
                     .values_list("payload__message_id", flat=True))
    agent_reply_ids = [pk for pk, _t, kind, _b in messages if kind == Message.Kind.REPLY]
    mailed = Notification.objects.filter(template="ticket_update", ticket_id__in=[t for _p, t, k, _b in messages
                                                                               if k == Message.Kind.REPLY])
    mailed_markers = [str(ctx.get("body", "")).split()[-1] for ctx in mailed.values_list("context", flat=True)
                      if ctx.get("body")]
    report["timeline"] = {
        "replies_without_event": len(set(reply_ids) - {int(x) for x in with_event}),
        "agent_replies_without_mail": sum(1 for pk, _t, kind, body in messages if kind == Message.Kind.REPLY
                                          and body.split()[-1] not in mailed_markers),
        "agent_replies_mailed_twice": sum(1 for m in set(mailed_markers) if mailed_markers.count(m) > 1),
        "agent_replies": len(agent_reply_ids),
    }

    # Chat: each acknowledged message stored once under its client_id.
    chat = dict(ChatMessage.objects.filter(client_id__startswith=prefix).values("client_id")
                .annotate(n=Count("id")).values_list("client_id", "n"))
    report["chat_message"] = tally("chat_message", chat)

    # The outbox: every row of these tickets delivered; each sent under its key, and how often.
    outbox = Notification.objects.filter(ticket_id__in=ticket_ids)
    deadline = time.monotonic() + wait_s
    while outbox.exclude(state=Notification.State.DELIVERED).exists() and time.monotonic() < deadline:
        time.sleep(1)
    rows = list(outbox)
    sent = mail_keys(sent_mail)
    states: dict[str, int] = {}
    for row in rows:
        states[row.state] = states.get(row.state, 0) + 1
    keys = [delivery_key(row) for row in rows]
    report["notifications"] = {
        "rows": len(rows), "states": states,
        "delivered_not_sent": sum(1 for row, key in zip(rows, keys, strict=True)
                                  if row.state == Notification.State.DELIVERED and sent.get(key, 0) == 0),
        "not_delivered": sum(1 for row in rows if row.state != Notification.State.DELIVERED),
        "sent_once": sum(1 for key in keys if sent.get(key, 0) == 1),
        "sent_again_same_key": sum(1 for key in keys if sent.get(key, 0) > 1),
        "attempts_over_1": sum(1 for row in rows if row.attempts > 1),
    }
    # Background tasks: none left waiting (the worker carried on), and how many a killed worker left claimed.
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.values_list("status", flat=True)
    while tasks.filter(status="READY").exists() and time.monotonic() < deadline:
        time.sleep(1)
    report["tasks"] = dict(Counter(tasks))
    report["totals"] = totals(report)
    return report


def totals(report: dict[str, Any]) -> dict[str, int]:
    kinds = ("ticket_portal", "ticket_mail", "customer_reply", "agent_reply", "chat_message")
    return {
        "acknowledged": sum(report[k]["acknowledged"] for k in kinds),
        "lost": sum(report[k]["lost"] for k in kinds) + report["notifications"]["not_delivered"]
        + report["notifications"]["delivered_not_sent"] + report["timeline"]["replies_without_event"]
        + report["timeline"]["agent_replies_without_mail"],
        "duplicated": sum(report[k]["duplicated"] for k in kinds) + report["tickets_whole"]["inbound_stored_twice"]
        + report["timeline"]["agent_replies_mailed_twice"],
        "half_written": report["tickets_whole"]["half"] + report["tickets_whole"]["wrong_number"],
        "unacknowledged": sum(report[k]["unacknowledged"] for k in kinds),
        "notifications_resent_same_key": report["notifications"]["sent_again_same_key"],
    }


_MESSAGE_ID = re.compile(rb"^Message-ID: (<notification\.[^>]+>)", re.MULTILINE)


def mail_keys(folder: Path) -> dict[str, int]:
    """How many times each notification's Message-ID (its idempotency key) was written by the mail backend."""
    counts: dict[str, int] = {}
    for path in folder.glob("*.log") if folder.exists() else []:
        for key in _MESSAGE_ID.findall(path.read_bytes()):
            counts[key.decode()] = counts.get(key.decode(), 0) + 1
    return counts


def verify(env: dict[str, str], ledger: Ledger, workdir: Path, *, wait_s: float = 60) -> dict[str, Any]:
    """`verify_in_database` in a process of its own (Django on the load's database, not the caller's)."""
    path = workdir / "ledger.json"
    ledger.dump(path)
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--verify", str(path),
                           "--sent-mail", str(Path(env["KEFU_DATA_DIR"]) / "sent-mail"), "--wait", str(wait_s)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=wait_s + 300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"verification failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------------------ a run


@dataclass
class Setup:
    """A prepared installation: its database, data directory, environment and mail token."""

    env: dict[str, str]
    workdir: Path
    port: int
    token: str
    customers: int


def prepare(workdir: Path, url: str, *, tickets: int, seeded: bool = False,
            extra_env: dict[str, str] | None = None, static_from: Path | None = None) -> Setup:
    """Data directory (static files collected, or linked from `static_from`), schema and seed (unless the
    database is a copy of a seeded one), an API token for the mail endpoint."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(url, data, port=port, secret_key=secrets.token_urlsafe(50), extra=extra_env)
    if static_from is not None:
        if not (data / "static").exists():
            (data / "static").symlink_to(static_from)
    else:
        kefu(env, "collectstatic", "--noinput", "-v0")
    if not seeded:
        seed(env, tickets=tickets)
    token, customers = admin_token(env)
    return Setup(env=env, workdir=workdir, port=port, token=token, customers=customers)


def run_load(setup: Setup, stack: Stack, *, duration: float, clients: dict[str, int], seed_value: int = 1,
             sample_every: float = 3.0, warmup: float = 0.0,
             during: Callable[[Traffic, float], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Traffic for `duration` seconds (after `warmup` seconds that are neither timed nor sampled); `during`
    runs in this thread meanwhile (bench/faults.py kills processes there) and returns what it saw."""
    ledger = Ledger(run_id=secrets.token_hex(3))
    stats = Stats()
    t = Traffic(port=setup.port, stats=stats, ledger=ledger, stop=threading.Event(), mail_token=setup.token,
                customers=setup.customers)
    if warmup:
        warm = Traffic(port=setup.port, stats=Stats(), ledger=ledger, stop=threading.Event(),
                       mail_token=setup.token, customers=setup.customers)
        with traffic(warm, clients, seed_value + 1000):
            time.sleep(warmup)
    sampler = MemorySampler(stack, sample_every)
    sampler.start()
    stats.started = time.monotonic()
    seen: dict[str, Any] = {}
    with traffic(t, clients, seed_value):
        if during is not None:
            seen = during(t, duration)
        remaining = duration - (time.monotonic() - stats.started)
        if remaining > 0:
            time.sleep(remaining)
    seconds = time.monotonic() - stats.started
    sampler.halt.set()
    sampler.join()
    return {"seconds": round(seconds, 1), "clients": clients, "operations": stats.summary(seconds),
            "memory": sampler.summary(), "ledger": ledger.counts(),
            "slowest_failure_s": round(stats.slowest_failure_s, 2),
            "during": seen, "_ledger": ledger, "_stats": stats}


def failures(operations: dict[str, Any]) -> dict[str, int]:
    return {"errors": sum(op["errors"] for op in operations.values()),
            "cut": sum(op["cut"] for op in operations.values())}


# ------------------------------------------------------------------------------------------ report


def table(result: dict[str, Any]) -> str:
    rows = ["| operation | n | per s | p50 ms | p95 ms | p99 ms | max ms | errors | cut |",
            "|---|---|---|---|---|---|---|---|---|"]
    for op, m in result["operations"].items():
        rows.append(f"| {op} | {m['n']} | {m['per_s']} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} |"
                    f" {m['max_ms']} | {m['errors']} | {m['cut']} |")
    mem = result.get("memory") or {}
    if mem:
        rows.append("")
        rows.append("| process | RSS first third MiB | last third MiB | growth MiB | growth % |")
        rows.append("|---|---|---|---|---|")
        for name, p in mem["processes"].items():
            rows.append(f"| {name} | {p['first_third_mib']} | {p['last_third_mib']} | {p['growth_mib']} |"
                        f" {p['growth_pct']} |")
        rows.append(f"| all | {mem['total_first_third_mib']} | {mem['total_last_third_mib']} |"
                    f" {mem['total_growth_mib']} | {mem['total_growth_pct']} |")
    if result.get("verification"):
        rows.append("")
        rows.append("ledger against the database: " + json.dumps(result["verification"]["totals"]))
    return "\n".join(rows)


def public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()}


def parse_clients(text: str) -> dict[str, int]:
    out = dict(DEFAULT_CLIENTS)
    for part in filter(None, text.split(",")):
        kind, _, n = part.partition("=")
        if kind not in CLIENTS:
            raise SystemExit(f"unknown client kind {kind!r} (one of {', '.join(CLIENTS)})")
        out[kind] = int(n)
    return out


def proof_line(result: dict[str, Any]) -> str:
    """The run in one line, for make proof's report (docs/reliability.md)."""
    operations = result["operations"].values()
    requests = sum(op["n"] for op in operations)
    memory, totals = result["memory"], result["verification"]["totals"]
    return (f"load, {result['seconds']:.0f} s of mixed traffic ({WEB_WORKERS} web processes, worker, scheduler, "
            f"PostgreSQL, Redis): {requests} requests ({requests / result['seconds']:.1f}/s), errors "
            f"{result['failures']['errors']}, cut {result['failures']['cut']}; acknowledged writes "
            f"{totals['acknowledged']}: lost {totals['lost']}, duplicated {totals['duplicated']}, half-written "
            f"{totals['half_written']}; memory of all processes, first third → last third: "
            f"{memory['total_first_third_mib']:.0f} → {memory['total_last_third_mib']:.0f} MiB "
            f"({memory['total_growth_pct']:+.1f} %)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of measured load (default 120)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring (default 10)")
    parser.add_argument("--pg", default=PG_SERVER, help=f"PostgreSQL server (default {PG_SERVER})")
    parser.add_argument("--database", default="kefu_load", help="database created (dropped first) on --pg")
    parser.add_argument("--tickets", type=int, default=2000, help="seeded tickets (bench/generate.py)")
    parser.add_argument("--clients", default="", help="e.g. customer=2,agent=2,mail=1,chat=1 (the default)")
    parser.add_argument("--sample-every", type=float, default=3.0, help="seconds between RSS samples")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "work" / "load"))
    parser.add_argument("--output", default=None, help="write the JSON result here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verify", default=None, help=argparse.SUPPRESS)  # internal: the verification process
    parser.add_argument("--sent-mail", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--wait", type=float, default=60, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.verify:
        print(json.dumps(verify_in_database(Path(args.verify), Path(args.sent_mail), args.wait)))
        return 0

    clients = parse_clients(args.clients)
    workdir = Path(args.workdir).resolve()
    subprocess.run(["rm", "-rf", str(workdir)], check=True)
    workdir.mkdir(parents=True)
    url = recreate_database(args.pg, args.database)
    setup = prepare(workdir, url, tickets=args.tickets)
    stack = Stack(setup.env, setup.port, workdir / "logs")
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "machine": machine(),
                              "command": " ".join(["python", "bench/load.py", *(argv if argv is not None
                                                                                    else sys.argv[1:])]),
                              "setup": {"web_workers": WEB_WORKERS, "database": "postgresql", "seeded_tickets":
                                        args.tickets, "channel_layer": "redis", "worker": True, "scheduler": True,
                                        "warmup_s": args.warmup}}
    try:
        stack.start()
        result |= run_load(setup, stack, duration=args.duration, clients=clients, seed_value=args.seed,
                           sample_every=args.sample_every, warmup=args.warmup)
        result["verification"] = verify(setup.env, result["_ledger"], workdir)
        result["alive_at_end"] = stack.alive()
    finally:
        stack.stop()
    result["failures"] = failures(result["operations"])
    text = json.dumps(public(result), indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(table(result))
    figure(proof_line(result))
    ok = result["failures"] == {"errors": 0, "cut": 0} and result["verification"]["totals"]["lost"] == 0 \
        and result["verification"]["totals"]["duplicated"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
