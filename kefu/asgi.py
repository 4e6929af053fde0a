import asyncio
import logging
import os
import socket
import sys
from asyncio import base_events
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile
from typing import Any

from django.core.wsgi import get_wsgi_application


def _set_nodelay(sock: socket.socket) -> None:
    # asyncio sets TCP_NODELAY only when sock.proto == IPPROTO_TCP, but a listening socket handed to
    # uvicorn's worker processes (--workers N) reports proto 0, so replies went out under Nagle's
    # algorithm and waited ~40 ms for the client's delayed ACK (docs/performance.md).
    if sock.family in {socket.AF_INET, socket.AF_INET6} and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


base_events._set_nodelay = _set_nodelay  # type: ignore[attr-defined]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

# HTTP requests run through Django's WSGI handler on one long-lived thread per process, one request after
# the other, while uvicorn's event loop reads and writes the sockets (decision 0004). Django's own ASGI
# handler gave every request a new thread (all contending for the GIL, so the request holding SQLite's
# write lock ran a fraction of the time) and, with any sync-only middleware, bounced each request between
# that thread and the event loop three times. Throughput scales with processes (uvicorn --workers N);
# long work belongs in background tasks.
_sync_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-sync")
_wsgi = get_wsgi_application()
# A response body up to this size is built on the sync thread and handed to the event loop in one piece
# (one hand-over per request); a larger or streamed one (downloads) goes out chunk by chunk as it is read.
BUFFERED_BODY = 1 << 20
REQUEST_BODY_IN_MEMORY = 1 << 16


def _websocket_application() -> Any:
    # Live chat (kefu.chat): Django Channels, behind the origin check (a page of another site cannot open
    # a staff member's socket with their cookie) and the session (staff sign in as on the web).
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from kefu.chat.routing import websocket_urlpatterns

    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))


_websocket = _websocket_application()


async def _websocket_or_unavailable(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A handshake that fails because the database cannot be reached (restarting, failing over) is answered
    503 with Retry-After, as a page would be (kefu.web.errors), instead of a 500 and a traceback; the chat's
    script reconnects by itself. Where the server cannot answer a handshake with HTTP, close code 1013
    ("try again later"). Once the socket is open, the failure closes it as any other error does."""
    from kefu.core.errors import RETRY_AFTER_SECONDS, database_unavailable

    accepted = False

    async def watched_send(message: dict[str, Any]) -> None:
        nonlocal accepted
        accepted = accepted or message["type"] == "websocket.accept"
        await send(message)

    try:
        await _websocket(scope, receive, watched_send)
    except Exception as exc:
        if accepted or not database_unavailable(exc):
            raise
        logging.getLogger(__name__).warning("websocket.database_unavailable", extra={"path": scope["path"]})
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 503,
                        "headers": [(b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                                    (b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "websocket.http.response.body", "body": b""})
        else:
            await send({"type": "websocket.close", "code": 1013})


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await _websocket_or_unavailable(scope, receive, send)
        return
    if scope["type"] != "http":
        # Lifespan: uvicorn then carries on without it.
        raise ValueError(f"kefu serves HTTP and WebSocket, not {scope['type']}")
    loop = asyncio.get_running_loop()
    with SpooledTemporaryFile(max_size=REQUEST_BODY_IN_MEMORY) as body:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.write(message.get("body", b""))
            if not message.get("more_body"):
                break
        body.seek(0)
        start, content = await loop.run_in_executor(_sync_thread, _respond, scope, body, loop, send)
    if start is not None:  # buffered: the whole answer in two messages
        await send(start)
        await send({"type": "http.response.body", "body": content})


def _respond(scope: dict[str, Any], body: Any, loop: asyncio.AbstractEventLoop,
             send: Any) -> tuple[dict[str, Any] | None, bytes]:
    """Run Django on the sync thread. Returns the start message and the body when it was small enough
    to buffer; otherwise sends it from here, chunk by chunk, and returns (None, b"")."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None,
                       /) -> Callable[[bytes], object]:
        started["message"] = {"type": "http.response.start", "status": int(status.split(" ", 1)[0]),
                              # Django writes Set-Cookie values with a leading space (SimpleCookie.output
                              # (header="")); WSGI servers strip it, strict HTTP parsers such as h11 refuse it.
                              "headers": [(k.lower().encode("latin1"), v.strip().encode("latin1"))
                                          for k, v in headers]}
        return _no_write

    def send_now(message: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(send(message), loop).result()

    result = _wsgi(_environ(scope, body), start_response)
    try:
        chunks: list[bytes] = []
        size = 0
        streaming = False
        for chunk in result:
            if not streaming and size + len(chunk) <= BUFFERED_BODY:
                chunks.append(chunk)
                size += len(chunk)
                continue
            if not streaming:
                streaming = True
                send_now(started["message"])
                for held in chunks:
                    send_now({"type": "http.response.body", "body": held, "more_body": True})
            send_now({"type": "http.response.body", "body": chunk, "more_body": True})
        if streaming:
            send_now({"type": "http.response.body", "body": b""})
            return None, b""
        return started["message"], b"".join(chunks)
    finally:
        # Django's request_finished: database connections go back to their pool (and broken ones are
        # dropped), open files of a download are closed.
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _no_write(data: bytes) -> object:
    raise RuntimeError("the body is read from the iterable the application returns, not written")


def _environ(scope: dict[str, Any], body: Any) -> dict[str, Any]:
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path = scope["path"].encode("utf8").decode("latin1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"], "SCRIPT_NAME": script_name,
        "PATH_INFO": path[len(script_name):] if path.startswith(script_name) else path,
        "QUERY_STRING": scope["query_string"].decode("ascii"), "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"), "wsgi.input": body,
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    server = scope.get("server") or ("localhost", 80)
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1] if server[1] is not None else 80)
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        key = name if name in {"CONTENT_LENGTH", "CONTENT_TYPE"} else f"HTTP_{name}"
        value = raw_value.decode("latin1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
