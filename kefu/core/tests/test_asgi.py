import socket

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
