"""Measure kefu through a real HTTP server on a loaded database (see bench/generate.py).

    python bench/run.py --data-dir bench/work/sqlite-100k
    python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench --data-dir bench/work/pg-100k

Starts the production server (`kefu serve` with its default workers: one per CPU, one more on PostgreSQL;
`--server uvicorn` for uvicorn's own) on
127.0.0.1, signs in as bench-agent through the real login form, then measures, after a warm-up and with a
bounded number of sequential requests: the agent ticket list (first page), ticket detail pages (random
tickets) and the assist suggestions each page then fetches, the list searched for Chinese and English
words present in the data; then API ticket creation (POST /api/v1/tickets, bearer token) with 8
concurrent clients for a bounded time; and the RSS of the server and its workers. The HTTP client is the
standard library only. Writes bench/results/<db>-<N>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.generate import AGENT_PASSWORD, AGENT_USERNAME, configure  # noqa: E402
from bench.text import SEARCH_WORDS  # noqa: E402
from kefu.testing.net import child_processes  # noqa: E402

BUDGETS_MS = {"list": 50.0, "detail": 50.0, "search": 200.0}  # p95, at 1M tickets
API_BUDGET_PER_S = 300.0


# ------------------------------------------------------------------------------------------ stats


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summarize(seconds: list[float], errors: int) -> dict[str, Any]:
    ms = [x * 1000 for x in seconds]
    if not ms:
        return {"n": 0, "errors": errors}
    return {"n": len(ms), "errors": errors, "median_ms": round(statistics.median(ms), 2),
            "p95_ms": round(pct(ms, 95) or 0, 2), "min_ms": round(min(ms), 2), "max_ms": round(max(ms), 2)}


# ------------------------------------------------------------------------------------------ HTTP client


class Client:
    """One keep-alive connection with a cookie jar; ``request`` returns (status, body, seconds)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        h = dict(self.headers)
        h.update(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - t0
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data, elapsed

    def close(self) -> None:
        self.conn.close()


def login(port: int) -> Client:
    client = Client(port)
    status, body, _ = client.request("GET", "/login/")
    if status != 200:
        raise SystemExit(f"GET /login/ answered {status}")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not match:
        raise SystemExit("no CSRF token in the login form")
    form = urllib.parse.urlencode({"username": AGENT_USERNAME, "password": AGENT_PASSWORD,
                                   "csrfmiddlewaretoken": match.group(1).decode()}).encode()
    status, body, _ = client.request("POST", "/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{port}/login/"})
    if status not in (302, 303) or "sessionid" not in client.cookies:
        raise SystemExit(f"login failed: {status} {body[:300]!r}")
    return client


def api_create_payload(i: int, rng: random.Random, customers: int) -> dict[str, Any]:
    """The body of POST /api/v1/tickets (kefu.tickets.api.TicketCreateIn): mostly known customers."""
    if rng.random() < 0.8 and customers:
        email = f"customer{rng.randint(1, customers)}@bench.example"
    else:
        email = f"api-new-{os.getpid()}-{i}@bench.example"
    return {
        "customer": {"email": email, "name": "API 客户"},
        "subject": f"订单 {rng.randint(10**9, 10**10)} 退款没有到账 / refund not received",
        "description": "你好，我申请退款已经一周了，退款还没有到账，订单号在标题里。"
                       " Hello, my refund has not arrived after a week; the order number is in the subject.",
        "channel": "api",
    }


# ------------------------------------------------------------------------------------------ processes


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def process_rss(pid: int) -> dict[str, Any]:
    procs = {pid: rss_kib(pid)}
    for child, _ in child_processes(pid):
        procs[child] = rss_kib(child)
    mib = {str(p): round(v / 1024, 1) for p, v in procs.items() if v is not None}
    return {"per_process_mib": mib, "total_mib": round(sum(mib.values()), 1),
            "max_worker_mib": max((v for p, v in mib.items() if int(p) != pid), default=None)}


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_worker_cpu(proc: subprocess.Popen[bytes], phase: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a load phase and add the CPU seconds each server process spent in it. A worker serves one request
    at a time, and a client's keep-alive connection stays with the worker that accepted it: a lopsided
    split of the connections shows here as one worker busy and the other idle."""
    pids = [proc.pid, *(child for child, _ in child_processes(proc.pid))]
    before = {pid: cpu_seconds(pid) for pid in pids}
    machine_before, client_before, postgres_before = machine_cpu(), client_cpu(), postgres_cpu()
    out = phase()
    out["server_cpu_s"] = {str(pid): round(cpu_seconds(pid) - before[pid], 2) for pid in pids}
    # Where the rest of the machine's two cores went: the client (this process), PostgreSQL's processes
    # (its backends and background writers; 0 on SQLite), and what nobody used.
    machine_after = machine_cpu()
    out["client_cpu_s"] = round(client_cpu() - client_before, 2)
    out["postgres_cpu_s"] = round(postgres_cpu() - postgres_before, 2)
    out["machine_busy_s"] = round(machine_after[0] - machine_before[0], 2)
    out["machine_idle_s"] = round(machine_after[1] - machine_before[1], 2)
    return out


def machine_cpu() -> tuple[float, float]:
    """Busy and idle CPU seconds of the whole machine so far (/proc/stat; iowait counts as idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), idle / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    times = os.times()
    return times.user + times.system


def postgres_cpu() -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def server_command(server: str, port: int, workers: int) -> list[str]:
    if server == "kefu":
        return [sys.executable, "-m", "kefu", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--log-level", "warning", "--lifespan", "off"]
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "kefu.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--worker-class", "gthread", "--threads", "1", "--log-level", "warning"]
    return [sys.executable, "-m", "uvicorn", "kefu.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", "warning", "--lifespan", "off"]


def start_server(cmd: list[str], env: dict[str, str], log_path: Path, port: int) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"server did not answer within 90 s; see {log_path}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ------------------------------------------------------------------------------------------ measurements


def measure(client: Client, paths: list[str], warmup: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    for path in paths[:warmup]:
        client.request("GET", path, headers=headers)
    times: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    for path in paths[warmup:]:
        status, _, elapsed = client.request("GET", path, headers=headers)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            times.append(elapsed)
        else:
            errors += 1
    return summarize(times, errors) | {"statuses": statuses}


def api_throughput(port: int, secret: str, customers: int, concurrency: int, duration: float,
                   max_requests: int, seed: int, reconnect_every: int = 0) -> dict[str, Any]:
    """POST /api/v1/tickets from `concurrency` clients for `duration` seconds."""

    def create(i: int, rng: random.Random) -> tuple[str, str, bytes | None, int]:
        return "POST", "/api/v1/tickets", json.dumps(api_create_payload(i, rng, customers)).encode(), 201

    out = throughput(port, secret, concurrency, duration, max_requests, seed, create, reconnect_every)
    out["tickets_per_s"] = out.pop("per_s")
    return out


def me_throughput(port: int, secret: str, concurrency: int, duration: float, max_requests: int,
                  seed: int) -> dict[str, Any]:
    """GET /api/v1/me, the lightest authenticated call: the ceiling of this server stack on this machine."""
    return throughput(port, secret, concurrency, duration, max_requests, seed,
                      lambda i, rng: ("GET", "/api/v1/me", None, 200))


def throughput(port: int, secret: str, concurrency: int, duration: float, max_requests: int, seed: int,
               make: Callable[[int, random.Random], tuple[str, str, bytes | None, int]],
               reconnect_every: int = 0) -> dict[str, Any]:
    """`reconnect_every` N > 0: each client opens a new connection after N requests (as HTTP clients and
    proxies recycle theirs); 0: one keep-alive connection per client for the whole run."""
    lock = threading.Lock()
    times: list[float] = []
    errors: dict[str, int] = {}
    counter = [0]
    deadline = time.perf_counter() + duration

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        client = Client(port, {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        sent = 0
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if counter[0] >= max_requests:
                        return
                    counter[0] += 1
                    i = counter[0]
                sent += 1
                if reconnect_every and sent % reconnect_every == 0:
                    client.close()
                    client.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                method, path, body, expected = make(i, rng)
                try:
                    status, data, elapsed = client.request(method, path, body=body)
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                with lock:
                    if status == expected:
                        times.append(elapsed)
                    else:
                        key = f"{status}: {data[:120].decode(errors='replace')}"
                        errors[key] = errors.get(key, 0) + 1
        finally:
            client.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 120)
    elapsed = time.perf_counter() - t0
    out = summarize(times, sum(errors.values()))
    out.update({"created": len(times), "seconds": round(elapsed, 2), "concurrency": concurrency,
                "reconnect_every": reconnect_every,
                "per_s": round(len(times) / elapsed, 1), "error_kinds": dict(list(errors.items())[:10])})
    return out


def prepare(seed: int, requests: int, warmup: int) -> dict[str, Any]:
    """In this process: bring the schema up to date, count the data, pick ticket ids, issue the API token."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)  # a database loaded by an older version

    from kefu.accounts.models import User
    from kefu.accounts.services import issue_api_token
    from kefu.customers.models import Customer
    from kefu.tickets.models import Ticket

    agent = User.objects.get(username=AGENT_USERNAME)
    _, secret = issue_api_token(agent, "bench", actor=agent)
    tickets = Ticket.objects.count()
    lo, hi = Ticket.objects.order_by("id").values_list("id", flat=True).first(), \
        Ticket.objects.order_by("-id").values_list("id", flat=True).first()
    rng = random.Random(seed)
    ids = [rng.randint(lo, hi) for _ in range(requests + warmup)]
    info = {"tickets": tickets, "ids": ids, "secret": secret, "vendor": connection.vendor,
            "customers": Customer.objects.filter(email__endswith="@bench.example").count(),
            "messages": None}
    connection.close()
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "sqlite"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=None,
                        help="default: `kefu serve`'s (one per CPU, one more on PostgreSQL)")
    parser.add_argument("--server", choices=["kefu", "uvicorn", "gunicorn"], default="kefu",
                        help="kefu (`kefu serve`: uvicorn workers with a socket each, the production server), "
                             "uvicorn (--workers N, one shared socket) or gunicorn (WSGI, gthread, 1 thread a worker)")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per operation")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of API create load")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-creates", type=int, default=20000)
    parser.add_argument("--reconnect-every", type=int, default=0,
                        help="API load: each client reconnects after N requests (default 0: one connection each)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ops", default="list,detail,assist,search,me,api",
                        help="comma-separated subset (assist: the ticket page's suggestions, fetched after the"
                             " page; me: GET /api/v1/me, the stack's ceiling)")
    parser.add_argument("--search-words", default=",".join(SEARCH_WORDS),
                        help="comma-separated search queries, cycled (default: bench.text.SEARCH_WORDS)")
    parser.add_argument("--out", default=None, help="default: bench/results/<db>-<N>.json")
    args = parser.parse_args(argv)

    configure(args.database_url, args.data_dir)
    os.environ["KEFU_DEBUG"] = "0"
    info = prepare(args.seed, args.requests, args.warmup)
    if args.workers is None:
        from kefu.core.server import default_workers

        args.workers = default_workers(info["vendor"])
    env = dict(os.environ)
    data_dir = Path(os.environ["KEFU_DATA_DIR"])
    ops = set(args.ops.split(","))
    results: dict[str, Any] = {
        "database": info["vendor"], "tickets_at_start": info["tickets"],
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine.describe(),
        "server": " ".join(server_command(args.server, args.port, args.workers)[2:]),
        "command": " ".join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "operations": {},
    }
    proc = start_server(server_command(args.server, args.port, args.workers), env, data_dir / "server.log", args.port)
    try:
        results["rss_idle"] = process_rss(proc.pid)
        client = login(args.port)
        n = args.requests + args.warmup
        if "list" in ops:
            results["operations"]["list"] = measure(client, ["/console/tickets/"] * n, args.warmup)
        if "detail" in ops:
            results["operations"]["detail"] = measure(
                client, [f"/console/tickets/{i}/" for i in info["ids"]], args.warmup)
        if "assist" in ops:  # what the ticket page's assist panel fetches once the page is shown
            results["operations"]["assist"] = measure(
                client, [f"/console/tickets/{i}/assist/" for i in info["ids"]], args.warmup, {"HX-Request": "true"})
        if "search" in ops:
            chosen = [w for w in args.search_words.split(",") if w]
            words = [chosen[i % len(chosen)] for i in range(n)]
            results["operations"]["search"] = measure(
                client, [f"/console/tickets/?q={urllib.parse.quote(w)}" for w in words], args.warmup)
            results["search_words"] = chosen
        client.close()
        if "me" in ops:
            results["operations"]["api_me"] = with_worker_cpu(proc, lambda: me_throughput(
                args.port, info["secret"], args.concurrency, args.duration, args.max_creates, args.seed))
        if "api" in ops:
            results["operations"]["api_create"] = with_worker_cpu(proc, lambda: api_throughput(
                args.port, info["secret"], info["customers"], args.concurrency, args.duration,
                args.max_creates, args.seed, args.reconnect_every))
        results["rss_after"] = process_rss(proc.pid)
    finally:
        stop_server(proc)
    name = f"{'postgres' if info['vendor'] == 'postgresql' else info['vendor']}-{info['tickets']}"
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(markdown(results))
    print(f"\nwritten to {out}")
    return 0


def markdown(r: dict[str, Any]) -> str:
    rows = ["| operation | n | errors | median ms | p95 ms | budget (p95 at 1M) |", "|---|---|---|---|---|---|"]
    for op, label in (("list", "agent list, first page"), ("detail", "ticket detail"),
                      ("assist", "ticket page's assist suggestions (after the page)"), ("search", "search")):
        m = r["operations"].get(op)
        if m:
            budget = f"≤ {BUDGETS_MS[op]:.0f} ms" if op in BUDGETS_MS else "—"
            rows.append(f"| {label} | {m['n']} | {m['errors']} | {m.get('median_ms')} | {m.get('p95_ms')} | {budget} |")
    me = r["operations"].get("api_me")
    if me:
        rows.append(f"| API GET /me (stack ceiling), concurrency {me['concurrency']} | {me['n']} | {me['errors']} |"
                    f" {me.get('median_ms')} | {me.get('p95_ms')} | {me['per_s']} requests/s |")
    api = r["operations"].get("api_create")
    if api:
        again = f", new connection every {api['reconnect_every']}" if api.get("reconnect_every") else ""
        rows.append(f"| API create, concurrency {api['concurrency']}{again} | {api['n']} | {api['errors']} |"
                    f" {api.get('median_ms')} | {api.get('p95_ms')} | **{api['tickets_per_s']} tickets/s**"
                    f" (≥ {API_BUDGET_PER_S:.0f}/s) |")
    rss = r.get("rss_after") or r.get("rss_idle")
    head = (f"{r['database']}, {r['tickets_at_start']} tickets, {r['date']}; RSS total {rss['total_mib']} MiB,"
            f" largest worker {rss['max_worker_mib']} MiB")
    rows.extend(f"\n{op}: CPU seconds per server process {o['server_cpu_s']}; client {o.get('client_cpu_s')}, "
                f"PostgreSQL {o.get('postgres_cpu_s')}, machine busy {o.get('machine_busy_s')} / idle "
                f"{o.get('machine_idle_s')}"
                for op in ("api_me", "api_create") if (o := r["operations"].get(op, {})).get("server_cpu_s"))
    return head + "\n\n" + "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
