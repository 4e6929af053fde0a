from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kefu.core.server import ServeOptions, default_workers, describe, serve


class Command(BaseCommand):
    help = ("Serve kefu in production: N worker processes, each with its own listening socket (SO_REUSEPORT), "
            "restarted when one dies (docs/operations.md).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=None,
                            help="worker processes (default: one per CPU, and one more on PostgreSQL)")
        parser.add_argument("--proxy-headers", action="store_true",
                            help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a reverse proxy)")
        parser.add_argument("--forwarded-allow-ips", default=None)
        parser.add_argument("--timeout-keep-alive", type=int, default=5)
        parser.add_argument("--timeout-graceful-shutdown", type=int, default=30)
        parser.add_argument("--access-log", action="store_true")
        parser.add_argument("--log-level", default="warning",
                            choices=["critical", "error", "warning", "info", "debug", "trace"])
        parser.add_argument("--lifespan", choices=["auto", "on", "off"], default="auto")
        parser.add_argument("--shared-socket", action="store_true",
                            help="one listening socket shared by the workers, as uvicorn --workers does")

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"]
        if workers is None:
            workers = default_workers(connection.vendor)
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        settings = ServeOptions(
            host=options["host"], port=options["port"], workers=workers,
            proxy_headers=options["proxy_headers"], forwarded_allow_ips=options["forwarded_allow_ips"],
            timeout_keep_alive=options["timeout_keep_alive"],
            timeout_graceful_shutdown=options["timeout_graceful_shutdown"], log_level=options["log_level"],
            access_log=options["access_log"], lifespan=options["lifespan"], shared_socket=options["shared_socket"])
        self.stdout.write(f"kefu serve: {describe(settings)}")
        self.stdout.flush()
        status = serve(settings)
        if status:
            raise CommandError("the web workers could not be kept running", returncode=status)
