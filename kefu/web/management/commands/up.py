"""``kefu up``: the embedded mode in one command (migrate, demo data, worker, web server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from io import StringIO
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from rich.console import Console
from rich.table import Table


class Command(BaseCommand):
    help = "Migrate, load demo data on first run, start a background worker and serve on 127.0.0.1:8000."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start the background worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        from kefu.web.demo import demo_needed, load_demo

        console = Console()
        call_command("migrate", interactive=False, verbosity=0)
        logins = load_demo() if demo_needed() and not options["no_demo"] else []
        if logins:
            table = Table(title="Demo logins — 演示账号")
            for column in ("login", "password", "role"):
                table.add_column(column)
            for row in logins:
                table.add_row(*row)
            console.print(table)
            # The chatbot learns the demo knowledge base now, so that the first chat is answered; later
            # changes are learnt by the worker.
            call_command("bot", "train", stdout=StringIO())
        url = f"http://{options['host']}:{options['port']}/"
        console.print(f"[bold]kefu[/] is serving on {url}  (agent console: {url}console/tickets/,"
                      f" customer portal: {url}portal/, API docs: {url}api/v1/docs)")
        sys.stdout.flush()
        self._supervise(options)

    def _supervise(self, options: dict[str, Any]) -> None:
        """Run the web server and the worker as children and stop both together.

        Both are children (not the server in this process) because uvicorn re-raises SIGTERM after its
        own shutdown, which would end this process before it could stop the worker.
        """
        env = os.environ.copy()
        children = [subprocess.Popen([  # noqa: S603 (our own interpreter and fixed arguments)
            sys.executable, "-m", "uvicorn", "kefu.asgi:application", "--host", options["host"],
            "--port", str(options["port"]), "--log-level", "warning",
        ], env=env)]
        if not options["no_worker"]:
            children.append(subprocess.Popen([sys.executable, "-m", "kefu", "worker", "--scheduler"], env=env))

        def stop(signum: int, frame: FrameType | None) -> None:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            children[0].wait()
        finally:
            stop(signal.SIGTERM, None)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
