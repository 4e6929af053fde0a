"""Benchmark: inbound email per second through `kefu inbox import-mail` (target ≥ 200/s).

    python bench/mail_intake.py --data-dir bench/work/mail-sqlite [--database-url URL] \\
        [--messages 2000] [--out bench/results/mail-intake-<db>.json]

Builds N messages from the test corpus's shapes (every charset and structure it has; automatic mail
left out, so each message is a ticket or a reply), each with its own Message-ID and one of N/4 senders,
writes them to one mbox and times the import command as a subprocess on a freshly migrated database
(the whole process: start-up, storing the raw copy, parsing, threading, tickets, acknowledgements).
Then it imports the same mbox again and times the all-duplicates pass.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import configure  # noqa: E402


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


def run_import(mbox: Path) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "kefu", "inbox", "import-mail", "--no-dkim", str(mbox)],
                            capture_output=True, text=True, check=True, env=os.environ.copy())
    return time.perf_counter() - started, json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "mail-sqlite"))
    parser.add_argument("--messages", type=int, default=2000)
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
    seconds, summary = run_import(mbox)
    again_seconds, again = run_import(mbox)
    result = {
        "database": "postgresql" if args.database_url else "sqlite",
        "messages": args.messages,
        "import": {"seconds": round(seconds, 2), "messages_per_s": round(args.messages / seconds, 1), **summary},
        "reimport_duplicates": {"seconds": round(again_seconds, 2),
                                "messages_per_s": round(args.messages / again_seconds, 1), **again},
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
