import socket
import threading
from typing import Any

from kefu.asgi import _set_nodelay


def test_sockets_handed_to_worker_processes_get_tcp_nodelay():
    """A socket rebuilt from a file descriptor reports proto 0, which asyncio's own check skips."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        rebuilt = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fileno=accepted.detach())
        try:
            assert rebuilt.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            _set_nodelay(rebuilt)
            assert rebuilt.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            rebuilt.close()
            client.close()


async def _get(path: str) -> tuple[int, list[tuple[bytes, bytes]]]:
    from asgiref.testing import ApplicationCommunicator

    from kefu.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1234), "server": ("testserver", 80)}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body"):
        pass
    return int(start["status"]), start["headers"]


def test_every_request_runs_django_in_the_one_sync_thread_of_the_process(settings):
    """Concurrent requests take turns on one long-lived thread instead of a new thread each."""
    import asyncio

    from django.core.signals import request_started

    settings.ALLOWED_HOSTS = ["testserver"]
    threads: list[str] = []

    def record(**kwargs: object) -> None:
        threads.append(threading.current_thread().name)

    async def three_at_once() -> list[tuple[int, list[tuple[bytes, bytes]]]]:
        return list(await asyncio.gather(*(_get("/login/") for _ in range(3))))

    request_started.connect(record)
    try:
        responses = asyncio.run(three_at_once())
    finally:
        request_started.disconnect(record)
    assert [status for status, _ in responses] == [200, 200, 200]
    assert len(threads) == 3 and len(set(threads)) == 1 and threads[0].startswith("kefu-sync")


def test_header_values_have_no_padding_that_strict_http_parsers_refuse():
    import asyncio

    status, headers = asyncio.run(_get("/login/"))
    cookies = [value for name, value in headers if name.lower() == b"set-cookie"]
    assert status == 200 and cookies and cookies[0].startswith(b"csrftoken=")
    assert all(value == value.strip() for _, value in headers)


def test_each_request_finishes_so_database_connections_go_back_to_their_pool(settings):
    """Django's request_finished (which returns or drops the database connection) fires for every request."""
    import asyncio

    from django.core.signals import request_finished

    settings.ALLOWED_HOSTS = ["testserver"]
    finished: list[str] = []

    def record(**kwargs: object) -> None:
        finished.append(threading.current_thread().name)

    request_finished.connect(record)
    try:
        status, _ = asyncio.run(_get("/login/"))
    finally:
        request_finished.disconnect(record)
    assert status == 200 and len(finished) == 1 and finished[0].startswith("kefu-sync")


def test_a_body_larger_than_the_buffer_streams_out_whole_and_in_order(monkeypatch):
    import asyncio

    from asgiref.testing import ApplicationCommunicator

    import kefu.asgi

    closed: list[bool] = []
    piece = 256 * 1024

    class Body:
        def __iter__(self):  # type: ignore[no-untyped-def]
            for i in range(12):  # 3 MiB, three times the buffer
                yield bytes([i]) * piece

        def close(self) -> None:
            closed.append(True)

    def download(environ: dict[str, object], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Body()

    monkeypatch.setattr(kefu.asgi, "_wsgi", download)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/big", "raw_path": b"/big", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1234), "server": ("testserver", 80)}

    async def fetch() -> tuple[int, bytes]:
        communicator = ApplicationCommunicator(kefu.asgi.application, scope)
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        body = b""
        while True:
            message = await communicator.receive_output(10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                return int(start["status"]), body

    status, body = asyncio.run(fetch())
    assert status == 200 and len(body) == 12 * piece
    assert body == b"".join(bytes([i]) * piece for i in range(12)) and closed == [True]
