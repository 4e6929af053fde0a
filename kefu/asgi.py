import os
import socket
from asyncio import base_events

from django.core.asgi import get_asgi_application


def _set_nodelay(sock: socket.socket) -> None:
    # asyncio sets TCP_NODELAY only when sock.proto == IPPROTO_TCP, but a listening socket handed to
    # uvicorn's worker processes (--workers N) reports proto 0, so replies went out under Nagle's
    # algorithm and waited ~40 ms for the client's delayed ACK (docs/performance.md).
    if sock.family in {socket.AF_INET, socket.AF_INET6} and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


base_events._set_nodelay = _set_nodelay  # type: ignore[attr-defined]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
application = get_asgi_application()
