"""The feedback app's settings: a default here; a deployment overrides it in settings.KEFU or as KEFU_<NAME>."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # A survey goes out this many hours after closure (the customer has had time to see the fix work) …
    "SURVEY_DELAY_HOURS": 2,
    # … and within this many: one sent later (the scheduler was down) still goes out, counted late.
    "SURVEY_SEND_WITHIN_HOURS": 24,
    # A customer is asked at most once in this many days, whatever the number of tickets.
    "SURVEY_MIN_DAYS_BETWEEN": 30,
    # One reminder this many hours after the survey, if it is still unanswered.
    "SURVEY_REMINDER_HOURS": 48,
    # Links stop working after this many days; tickets closed longer ago than this are never surveyed.
    "SURVEY_VALID_DAYS": 7,
    # A 1–5 score at or below this opens a follow-up task for a supervisor.
    "SURVEY_BAD_SCORE": 3,
    # The supervisor contacts the customer within this many hours, and calls back within this many.
    "FOLLOWUP_CONTACT_HOURS": 1,
    "FOLLOWUP_CALLBACK_HOURS": 72,
    # Name of a business calendar (kefu.sla.BusinessCalendar) the follow-up deadlines run on; empty for
    # round-the-clock hours.
    "FOLLOWUP_CALENDAR": "",
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])
