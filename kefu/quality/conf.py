"""Quality assurance's settings: `settings.KEFU[NAME]`, else `KEFU_<NAME>` in the environment, else the default."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # Share of each day's closed tickets sampled for review (0–1); mandatory tickets come on top.
    "QA_SAMPLE_RATE": 0.20,
    # Tickets closed this many days before the sampled day that were not sampled then, but have since
    # got a mandatory signal (a bad survey answer usually comes a day or two after closure), join the
    # next day's sample.
    "QA_LATE_SIGNAL_DAYS": 7,
    # Time the agent has to rework a ticket after a failed review.
    "QA_REWORK_HOURS": 24,
    # Name of the business calendar (kefu.sla) that QA_REWORK_HOURS is counted on; "" = round the clock.
    "QA_REWORK_CALENDAR": "",
    # Hour of the day (settings time zone) from which the daily job samples the previous day.
    "QA_SAMPLE_AFTER_HOUR": 1,
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])
