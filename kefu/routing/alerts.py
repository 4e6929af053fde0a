"""When a queue needs a supervisor: too many waiting, or a wait longer than the queue's target. Pure.

An alert opens when a threshold is crossed and stays open (one notice, not one per check) until the queue
is back under it; then it closes and a later crossing opens a new one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class AlertKind(enum.StrEnum):
    TOO_MANY_WAITING = "too_many_waiting"
    WAIT_TOO_LONG = "wait_too_long"


@dataclass(frozen=True)
class QueueLoad:
    queue_id: int
    waiting: int
    longest_wait_s: float
    max_waiting: int
    max_wait_s: float
    longest_lane_wait_s: float = 0.0  # the priority lane (urgent, VIP, core) has its own, shorter target
    max_lane_wait_s: float = 0.0


def crossed(load: QueueLoad) -> set[AlertKind]:
    kinds = set()
    if load.max_waiting and load.waiting > load.max_waiting:
        kinds.add(AlertKind.TOO_MANY_WAITING)
    if load.waiting and ((load.max_wait_s and load.longest_wait_s > load.max_wait_s)
                         or (load.max_lane_wait_s and load.longest_lane_wait_s > load.max_lane_wait_s)):
        kinds.add(AlertKind.WAIT_TOO_LONG)
    return kinds


def alert_changes(loads: Iterable[QueueLoad], open_alerts: Mapping[tuple[int, AlertKind], object]
                  ) -> tuple[list[tuple[QueueLoad, AlertKind]], list[tuple[int, AlertKind]]]:
    """(alerts to open, alerts to close) given every queue's load and the alerts open now."""
    to_open: list[tuple[QueueLoad, AlertKind]] = []
    still_crossed: set[tuple[int, AlertKind]] = set()
    for load in loads:
        for kind in crossed(load):
            still_crossed.add((load.queue_id, kind))
            if (load.queue_id, kind) not in open_alerts:
                to_open.append((load, kind))
    to_close = [key for key in open_alerts if key not in still_crossed]
    return to_open, to_close
