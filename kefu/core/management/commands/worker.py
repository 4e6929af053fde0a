from __future__ import annotations

import logging
import threading
import time
from argparse import ArgumentParser
from typing import Any

from django.db import close_old_connections
from django.db.utils import OperationalError
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from kefu.core import periodic

log = logging.getLogger(__name__)
DATABASE_RETRY_SECONDS = 2.0


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
            self._work_through_outages(*args, **options)
        finally:
            stop.set()
            if scheduler is not None:
                scheduler.join(timeout=30)

    def _work_through_outages(self, *args: Any, **options: Any) -> None:
        # django-tasks-db's loop gives up on any database error but a locked SQLite file: a database restart
        # or failover would end the worker. It waits for the database instead, as the scheduler does
        # (bench/faults.py restarts PostgreSQL under load).
        while True:
            try:
                super().handle(*args, **options)
                return
            except OperationalError as exc:
                log.warning("worker.database_unavailable", extra={"error": str(exc)[:200]})
                close_old_connections()
                time.sleep(DATABASE_RETRY_SECONDS)
