"""The reports' settings: `settings.KEFU[NAME]`, else `KEFU_<NAME>` in the environment, else the default."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # A week's report is made on the Monday after it, a month's on the 1st after it, at this hour (local time):
    # late enough for the night's last events to be rolled up, early enough to be read at the morning meeting.
    "REPORT_HOUR": 6,
    # The reports page lists this many, newest first.
    "REPORT_LIST_LIMIT": 104,
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])
