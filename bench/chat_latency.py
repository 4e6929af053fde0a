"""Benchmark: live-chat message latency through the real server (target: round trip p95 ≤ 50 ms).

    python bench/chat_latency.py --data-dir bench/work/chat [--messages 300] [--workers 1] \\
        [--out bench/results/chat-latency.json]

Starts uvicorn (kefu.asgi:application) on a fresh embedded database — one process with the in-memory
channel layer, or `--workers 2` with the Redis layer (visitor and agent then usually land on different
processes) — opens the visitor's and the agent's WebSockets, and sends messages one at a time,
alternating sides. For each it records the round trip (sent → the sender's own copy back, stored and
numbered) and the delivery (sent → arrived at the other side).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from kefu.testing.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


def _kefu(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kefu", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True, env=os.environ.copy())
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _next_message(ws: ClientConnection, body: str) -> float:
    while True:
        event = json.loads(ws.recv(timeout=10))
        if event["type"] == "message" and event["body"] == body:
            return time.perf_counter()


def _until_active(ws: ClientConnection) -> None:
    while True:
        event = json.loads(ws.recv(timeout=10))
        if event["type"] == "state" and event["state"] == "active":
            return


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "work" / "chat"))
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    data = Path(args.data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    os.environ.update({"KEFU_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "kefu.settings", "KEFU_DEBUG": "0"})
    os.environ.pop("DATABASE_URL", None)
    if args.workers > 1:
        os.environ.update({"KEFU_CHANNEL_LAYER": "redis", "KEFU_CHANNEL_PREFIX": f"kefu-bench-{os.getpid()}"})
    _kefu("migrate", "-v0")
    session_key, chat_id, token = _kefu("shell", "-c", (
        "from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY;"
        "from django.contrib.sessions.backends.db import SessionStore;"
        "from kefu.testing import factories; from kefu.chat import services;"
        "agent = factories.staff(name='Bench Agent');"
        "s = SessionStore(); s[SESSION_KEY] = str(agent.pk);"
        "s[BACKEND_SESSION_KEY] = 'kefu.accounts.backends.EmailOrUsernameBackend';"
        "s[HASH_SESSION_KEY] = agent.get_session_auth_hash(); s.create();"
        "chat = services.start_chat(services.PreChat(name='Bench Visitor', phone='+8613000000001'));"
        "print(s.session_key, chat.pk, chat.token)")).split()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "kefu.asgi:application", "--port", str(port),
                               "--workers", str(args.workers), "--lifespan", "off", "--no-access-log",
                               "--log-level", "warning"], cwd=ROOT, env=os.environ.copy())
    round_trips: list[float] = []
    deliveries: list[float] = []
    try:
        wait_for_port(port, process=server)
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        with connect(f"ws://127.0.0.1:{port}/ws/chat/{token}/", additional_headers=origin) as visitor, \
                connect(f"ws://127.0.0.1:{port}/ws/console/chats/{chat_id}/",
                        additional_headers={**origin, "Cookie": f"sessionid={session_key}"}) as agent:
            agent.send(json.dumps({"type": "take"}))
            _until_active(visitor)
            for n in range(args.messages):
                sender, receiver = (visitor, agent) if n % 2 == 0 else (agent, visitor)
                body = f"message {n}"
                started = time.perf_counter()
                sender.send(json.dumps({"type": "message", "body": body, "client_id": f"m{n}"}))
                deliveries.append(_next_message(receiver, body) - started)
                round_trips.append(_next_message(sender, body) - started)
    finally:
        server.terminate()
        server.wait(timeout=10)
    result: dict[str, Any] = {
        "messages": args.messages, "workers": args.workers,
        "channel_layer": "redis" if args.workers > 1 else "in-memory",
        "round_trip": _summary(round_trips), "delivery_to_other_side": _summary(deliveries),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
