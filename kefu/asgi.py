import os
import socket
from asyncio import base_events
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from asgiref.wsgi import WsgiToAsgi
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
_http = WsgiToAsgi(get_wsgi_application())


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        # Lifespan (uvicorn then carries on without it); WebSocket routes will be added here.
        raise ValueError(f"kefu serves HTTP, not {scope['type']}")
    async with ThreadSensitiveContext(executor=_sync_thread):
        await _http(scope, receive, _without_padding(send))


def _without_padding(send: Any) -> Any:
    # Django's WSGI handler writes Set-Cookie values with a leading space (SimpleCookie.output(header=""));
    # WSGI servers strip it, but HTTP parsers such as h11 refuse the response.
    async def send_stripped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [(name, value.strip()) for name, value in message["headers"]]}
        await send(message)

    return send_stripped
