"""Benchmark: inbound email per second through `kefu inbox import-mail` and through the raw-message
endpoint POST /api/v1/inbox/email (target ≥ 200/s each).

    python bench/mail_intake.py --data-dir bench/work/mail-sqlite [--database-url URL] \\
        [--messages 2000] [--workers 1] [--http-clients 4] [--out bench/results/mail-intake-<db>.json]

Builds N messages from the test corpus's shapes (every charset and structure it has; automatic mail
left out, so each message is a ticket or a reply), each with its own Message-ID and one of N/4 senders,
writes them to one mbox and times the import command as a subprocess on a freshly migrated database
(the whole process: start-up, storing the raw copy, parsing, threading, tickets, acknowledgements).
Then it imports the same mbox again and times the all-duplicates pass. Last, the same messages with new
Message-IDs go one per request to a real server (uvicorn kefu.asgi:application, 2 worker processes) from
`--http-clients` concurrent clients with an administrator's token.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import configure  # noqa: E402
from kefu.testing.net import free_port, wait_for_port  # noqa: E402


def _headers(head: bytes) -> list[bytes]:
    """The header block as whole headers (continuation lines kept with theirs)."""
    headers: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in {b" ", b"\t"} and headers:
            headers[-1] += b"\r\n" + line
        else:
            headers.append(line)
    return headers


def build_messages(count: int) -> list[bytes]:
    from kefu.inbox.tests.corpus import build_corpus

    shapes = [s for s in build_corpus() if not s.automatic]
    senders = max(1, count // 4)
    out = []
    for n in range(count):
        head, sep, body = shapes[n % len(shapes)].raw.partition(b"\r\n\r\n")
        kept = [h for h in _headers(head) if not h.lower().startswith((b"message-id:", b"from:"))]
        own = [f"From: Customer {n % senders} <c{n % senders}@bench.example>".encode(),
               f"Message-ID: <bench-{n}@bench.example>".encode()]
        out.append(b"\r\n".join(own + kept) + sep + body)
    return out


def write_mbox(path: Path, messages: list[bytes]) -> None:
    with path.open("wb") as handle:
        for raw in messages:
            handle.write(b"From bench@bench.example Thu Dec  3 12:00:00 2026\n")
            body = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            handle.write(body.rstrip(b"\n") + b"\n\n")


def run_import(mbox: Path, workers: int) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "kefu", "inbox", "import-mail", "--no-dkim",
                             "--workers", str(workers), str(mbox)],
                            capture_output=True, text=True, check=True, env=os.environ.copy())
    return time.perf_counter() - started, json.loads(result.stdout.strip().splitlines()[-1])


def run_http(messages: list[bytes], clients: int) -> dict[str, Any]:
    token = subprocess.run([sys.executable, "-m", "kefu", "shell", "-c", (
        "from kefu.accounts.models import Role; from kefu.accounts.services import issue_api_token;"
        "from kefu.testing import factories; a = factories.staff(Role.ADMIN);"
        "print(issue_api_token(a, 'b', actor=a)[1])")],
        capture_output=True, text=True, check=True, env=os.environ.copy()).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "kefu.asgi:application", "--port", str(port),
                               "--workers", "2", "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
                              env=os.environ.copy())
    try:
        wait_for_port(port, process=server)
        todo = list(reversed(messages))
        lock = threading.Lock()
        latencies: list[float] = []
        outcomes: dict[str, int] = {}

        def client() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    if not todo:
                        break
                    raw = todo.pop()
                started = time.perf_counter()
                connection.request("POST", "/api/v1/inbox/email", body=raw, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"})
                response = connection.getresponse()
                body = json.loads(response.read() or b"{}")
                with lock:
                    latencies.append(time.perf_counter() - started)
                    key = body.get("outcome", f"http_{response.status}")
                    outcomes[key] = outcomes.get(key, 0) + 1
            connection.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies.sort()
    return {"seconds": round(seconds, 2), "messages_per_s": round(len(messages) / seconds, 1), "clients": clients,
            "median_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1), "outcomes": outcomes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "mail-sqlite"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="import-mail --workers")
    parser.add_argument("--http-clients", type=int, default=4, help="concurrent clients of the endpoint (0: skip)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    configure(args.database_url, args.data_dir)
    Path(os.environ["KEFU_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ["KEFU_MAIL_VERIFY_DKIM"] = "0"
    subprocess.run([sys.executable, "-m", "kefu", "migrate", "-v", "0"], check=True, env=os.environ.copy())
    subprocess.run([sys.executable, "-m", "kefu", "shell", "-c",
                    "from kefu.testing import factories; factories.staff(teams=(factories.department('Mail'),))"],
                   check=True, env=os.environ.copy())
    mbox = Path(os.environ["KEFU_DATA_DIR"]) / "bench.mbox"
    write_mbox(mbox, build_messages(args.messages))
    messages = build_messages(args.messages)
    seconds, summary = run_import(mbox, args.workers)
    again_seconds, again = run_import(mbox, args.workers)
    fresh = [raw.replace(b"Message-ID: <bench-", b"Message-ID: <http-bench-", 1) for raw in messages]
    http = run_http(fresh, args.http_clients) if args.http_clients else None
    result = {
        "database": "postgresql" if args.database_url else "sqlite",
        "messages": args.messages,
        "workers": args.workers,
        "import": {"seconds": round(seconds, 2), "messages_per_s": round(args.messages / seconds, 1), **summary},
        "reimport_duplicates": {"seconds": round(again_seconds, 2),
                                "messages_per_s": round(args.messages / again_seconds, 1), **again},
        "http_endpoint": http,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if summary["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
