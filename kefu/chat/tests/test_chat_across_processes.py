"""Live chat across two web processes through the real Redis channel layer: the visitor talks to one
uvicorn process, the agent to another, over real WebSockets. Skipped where no Redis answers, unless
KEFU_REQUIRE_REDIS=1 (CI)."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from kefu.testing.net import ROOT, free_port, redis_answers, run_kefu, serve_uvicorn

pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)"),
    pytest.mark.skipif(not redis_answers() and os.environ.get("KEFU_REQUIRE_REDIS") != "1",
                       reason="no Redis on 127.0.0.1:6379"),
]


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[dict[str, str], int, int]]:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_CHANNEL_LAYER": "redis",
           "REDIS_URL": "redis://127.0.0.1:6379/14", "KEFU_CHANNEL_PREFIX": f"kefu-test-{os.getpid()}"}
    env.pop("DATABASE_URL", None)
    run_kefu(env, "migrate", "-v0")
    ports = free_port(), free_port()
    servers = [serve_uvicorn(env, port, tmp_path / f"server-{port}.log", cwd=ROOT) for port in ports]
    try:
        yield env, ports[0], ports[1]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def _until(socket_: ClientConnection, kind: str, **match: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        event = json.loads(socket_.recv(timeout=deadline - time.monotonic()))
        if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
            return event
    raise AssertionError(f"no {kind} {match}")


def test_visitor_and_agent_on_different_processes_talk_through_redis(
        two_servers: tuple[dict[str, str], int, int]) -> None:
    env, visitor_port, agent_port = two_servers
    session_key, chat_id = run_kefu(env, "shell", "-c", (
        "from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY;"
        "from django.contrib.sessions.backends.db import SessionStore;"
        "from kefu.testing import factories; from kefu.chat import services;"
        "agent = factories.staff(name='Agent Fu');"
        "s = SessionStore(); s[SESSION_KEY] = str(agent.pk);"
        "s[BACKEND_SESSION_KEY] = 'kefu.accounts.backends.EmailOrUsernameBackend';"
        "s[HASH_SESSION_KEY] = agent.get_session_auth_hash(); s.create();"
        "chat = services.start_chat(services.PreChat(name='Tian Tian', phone='+8613000000002'));"
        "print(s.session_key, chat.pk)")).split()
    page = urllib.request.urlopen(f"http://127.0.0.1:{visitor_port}/chat/widget/", timeout=10).read().decode()
    assert "Start chat" in page or "开始" in page
    token = run_kefu(env, "shell", "-c",
                  f"from kefu.chat.models import ChatSession; print(ChatSession.objects.get(pk={chat_id}).token)")
    assert re.fullmatch(r"[\w-]{20,}", token)

    with connect(f"ws://127.0.0.1:{visitor_port}/ws/chat/{token}/",
                 additional_headers={"Origin": f"http://127.0.0.1:{visitor_port}"}) as customer, \
            connect(f"ws://127.0.0.1:{agent_port}/ws/console/chats/{chat_id}/",
                    additional_headers={"Origin": f"http://127.0.0.1:{agent_port}",
                                        "Cookie": f"sessionid={session_key}"}) as desk:
        _until(customer, "state", state="queued")
        _until(desk, "state", state="queued")
        desk.send(json.dumps({"type": "take"}))
        assert "Agent Fu" in _until(customer, "message", author="system", seq=2)["body"]
        customer.send(json.dumps({"type": "message", "body": "跨进程你好", "client_id": "v1"}))
        assert _until(desk, "message", author="customer")["body"] == "跨进程你好"
        desk.send(json.dumps({"type": "message", "body": "收到！", "client_id": "a1"}))
        assert _until(customer, "message", author="agent")["body"] == "收到！"
        customer.send(json.dumps({"type": "typing"}))
        assert _until(desk, "typing")["side"] == "customer"
