from __future__ import annotations

import threading
from argparse import ArgumentParser
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from kefu.core import periodic


class Command(DbWorkerCommand):
    help = ("Run background tasks; with --scheduler also the periodic sweeps in a thread of this process"
            " (the embedded mode's one worker; with several workers give it to one only).")

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--scheduler", action="store_true", help="also run the periodic sweeps")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        scheduler = None
        if options.pop("scheduler"):
            scheduler = threading.Thread(target=periodic.run_forever, args=(stop,), name="scheduler", daemon=True)
            scheduler.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            if scheduler is not None:
                scheduler.join(timeout=30)
