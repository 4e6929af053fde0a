"""Periodic jobs: what the scheduler runs, and how often.

Apps register their sweeps in their ``tasks`` module (``@periodic(seconds=…)``); the scheduler loads
every app's ``tasks`` module, then runs each job when it is due. A job must be safe to run twice at
once (two schedulers by mistake, or a restart mid-run): each claims its rows with row locks or
compare-and-set updates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections
from django.utils.module_loading import autodiscover_modules

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float
    func: Callable[[], object]
    next_run: float = field(default=0.0)


_REGISTRY: dict[str, Job] = {}


def periodic(*, seconds: float) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(func: Callable[[], object]) -> Callable[[], object]:
        name = f"{func.__module__}.{func.__qualname__}"
        _REGISTRY[name] = Job(name=name, every=seconds, func=func)
        return func

    return register


def jobs() -> list[Job]:
    autodiscover_modules("tasks")
    return sorted(_REGISTRY.values(), key=lambda job: job.name)


def run_job(job: Job) -> None:
    """One run; a failure is logged and the job is tried again at its next turn."""
    try:
        job.func()
    except Exception:
        log.exception("periodic.failed", extra={"job": job.name})


def run_due(all_jobs: list[Job], clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Run every job whose turn has come; returns their names."""
    ran = []
    for job in all_jobs:
        moment = clock()
        if moment >= job.next_run:
            run_job(job)
            job.next_run = moment + job.every
            ran.append(job.name)
    return ran


def run_forever(stop: threading.Event, tick: float = 0.5) -> None:
    all_jobs = jobs()
    log.info("scheduler.started", extra={"jobs": [job.name for job in all_jobs]})
    while not stop.is_set():
        # Like a request: a connection broken while idle (a database restart) is replaced, not reused.
        close_old_connections()
        run_due(all_jobs)
        close_old_connections()
        stop.wait(tick)
