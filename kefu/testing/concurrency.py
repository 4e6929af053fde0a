"""Races between database connections, for the tests that prove a write happens once (run on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs at once, one thread (and connection) each; their results, or their exceptions."""
    start = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(n: int, job: Callable[[], object]) -> None:
        try:
            start.wait()
            results[n] = job()
        except Exception as exc:  # reported to the test
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
