"""Local HTTP servers that speak the paid providers' protocols, standing in for them in tests:
a generic SMS gateway, WeChat's API (token + customer-service message) and an app receiving webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kefu.inbox.connectors import signature


@dataclass
class Provider:
    """What the fake received, and how it should answer next."""

    api_key: str = "sms-key"
    app_id: str = "wx-app"
    app_secret: str = "wx-secret"
    webhook_secret: str = ""
    fail_next: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    url: str = ""


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/cgi-bin/token":
                if query.get("appid") != provider.app_id or query.get("secret") != provider.app_secret:
                    self._answer(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
                    return
                provider.tokens_issued += 1
                self._answer(200, {"access_token": f"TOKEN{provider.tokens_issued}", "expires_in": 7200})
                return
            self._answer(404, {})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if provider.fail_next:
                provider.fail_next -= 1
                self._answer(503, {"error": "try later"})
                return
            if url.path == "/sms/send":
                if self.headers.get("Authorization") != f"Bearer {provider.api_key}":
                    self._answer(401, {"error": "bad key"})
                    return
                provider.received.append(json.loads(body))
                self._answer(200, {"message_id": f"m{len(provider.received)}"})
            elif url.path == "/cgi-bin/message/custom/send":
                token = parse_qs(url.query).get("access_token", [""])[0]
                if token != f"TOKEN{provider.tokens_issued}":
                    self._answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
                    return
                provider.received.append(json.loads(body))
                self._answer(200, {"errcode": 0, "errmsg": "ok"})
            elif url.path == "/app/messages":
                expected = signature(provider.webhook_secret, self.headers.get("X-Kefu-Timestamp", ""), body)
                if self.headers.get("X-Kefu-Signature") != expected:
                    self._answer(401, {"error": "bad signature"})
                    return
                provider.received.append(json.loads(body))
                self._answer(200, {"ok": True})
            else:
                self._answer(404, {})

    return Handler


@contextmanager
def provider_server(provider: Provider | None = None) -> Iterator[Provider]:
    provider = provider or Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
