"""A local stand-in for an OpenAI-compatible chat-completions endpoint, for tests of kefu.bot.generative.

It speaks the protocol over real HTTP on loopback, so the client's request building, headers, status handling and
timeouts are exercised as they are against a real server (llama.cpp, vLLM, Ollama, a hosted API).
"""

from __future__ import annotations

import itertools
import json
import re
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kefu.testing.net import free_port

Reply = Callable[[dict[str, Any]], str]

# A source block as kefu.bot.generative writes it: "[1] Title" on a line of its own, the text below, blank lines
# between blocks.
_SOURCE_1 = re.compile(r"^\[1\] [^\n]*\n(.+?)(?=\n\n\[\d+\] |\Z)", re.DOTALL | re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])")
_ids = itertools.count(1)


def grounded_reply(request: dict[str, Any]) -> str:
    """What a well-behaved model says: the first sentence of source [1], citing it; NO_ANSWER without sources."""
    for message in request.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str) and (match := _SOURCE_1.search(content)):
            first = _SENTENCE_END.split(match.group(1).strip(), maxsplit=1)[0].strip()
            return f"{first} [1]"
    return "NO_ANSWER"


@dataclass
class FakeLlm:
    url: str  # the API's base URL, ending in /v1
    requests: list[dict[str, Any]] = field(default_factory=list)  # the JSON bodies received, in order
    headers: list[dict[str, str]] = field(default_factory=list)  # their headers, in the same order


class _Server(ThreadingHTTPServer):
    # Handlers are joined by server_close, so that no thread outlives the test that started the server.
    daemon_threads = False

    def __init__(self, port: int, *, fake: FakeLlm, reply: Reply | str, api_key: str, status: int, delay_s: float,
                 raw: bytes | None) -> None:
        self.fake = fake
        self.reply = reply
        self.api_key = api_key
        self.status = status
        self.delay_s = delay_s
        self.raw = raw
        self.stopping = threading.Event()  # wakes handlers that are still waiting out delay_s
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own looks up the host's name, which can take seconds where DNS is unreachable.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up waiting (the timeout tests) has closed its end before the handler writes.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        if self.path != "/v1/chat/completions":
            self._error(404, f"Unknown request URL: POST {self.path}.", "invalid_request_error", "unknown_url")
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) \
                or not isinstance(body.get("messages"), list):
            self._error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
            return
        server.fake.requests.append(body)
        server.fake.headers.append(dict(self.headers.items()))
        if server.stopping.wait(server.delay_s):
            return
        if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
            self._error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            return
        if server.status != 200:
            self._error(server.status, "The server had an error while processing your request.", "server_error",
                        None)
            return
        if server.raw is not None:
            self._send(200, server.raw)
            return
        content = server.reply(body) if callable(server.reply) else server.reply
        prompt_tokens = sum(len(str(message.get("content", "")).split()) for message in body["messages"]
                            if isinstance(message, dict))
        completion_tokens = len(content.split())
        self._json(200, {
            "id": f"chatcmpl-fake{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def _error(self, status: int, message: str, kind: str, code: str | None) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode())

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read .requests, not an access log


@contextmanager
def serve_fake_llm(*, reply: Reply | str = grounded_reply, api_key: str = "", status: int = 200,
                   delay_s: float = 0.0, raw: bytes | None = None) -> Iterator[FakeLlm]:
    """A fake endpoint on 127.0.0.1 for the duration of the block.

    `reply` is the assistant's content, or a function from the request's JSON body to it. With `api_key`, a request
    without that Bearer token gets OpenAI's 401. Any other `status` answers with that status and an OpenAI-style
    error body. `delay_s` waits before answering. `raw`, if given, is sent as the 200 response's body instead of a
    completion, for tests of malformed responses.
    """
    port = free_port()
    fake = FakeLlm(url=f"http://127.0.0.1:{port}/v1")
    server = _Server(port, fake=fake, reply=reply, api_key=api_key, status=status, delay_s=delay_s, raw=raw)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm")
    thread.start()
    try:
        yield fake
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
