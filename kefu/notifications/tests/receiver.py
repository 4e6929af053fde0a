"""A real local HTTP receiver for webhook tests: it refuses a share of the requests at random (503)."""

from __future__ import annotations

import http.server
import random


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, failure_rate: float) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.failure_rate = failure_rate
        self.rng = random.Random(7)
        self.accepted: list[dict] = []
        self.refused = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.rng.random() < self.server.failure_rate:
            self.server.refused += 1
            self.send_response(503)
        else:
            self.server.accepted.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass
