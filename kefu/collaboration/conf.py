"""The collaboration rules' knobs (DESIGN §1 defaults): `settings.KEFU[NAME]`, else `KEFU_<NAME>` in the environment."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # A request is raised within this long of the ticket's acceptance (calendar time).
    "COLLABORATION_RAISE_MINUTES": 60,
    # The department accepts or asks back within this much of its business time.
    "COLLABORATION_RESPONSE_MINUTES": 120,
    # A coordination meeting's plan and timetable is ready within this long of the meeting.
    "COLLABORATION_PLAN_MINUTES": 120,
    # Warn the department and the owner when this share of a clock has passed.
    "COLLABORATION_WARNING_PERCENT": 80,
    # The calendar of a department that has none (by name); when it does not exist, 24/7.
    "COLLABORATION_DEFAULT_CALENDAR": "Office hours (mainland China)",
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])
