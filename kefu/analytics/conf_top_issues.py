"""The top-issues page's limits: `settings.KEFU[NAME]`, else `KEFU_<NAME>` in the environment, else the default."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # The newest tickets of a period grouped by their text (grouping 20,000 takes a few seconds on one core).
    "TOP_ISSUES_MAX_TICKETS": 20000,
    # The newest unanswered questions of a period grouped into knowledge gaps.
    "TOP_ISSUES_MAX_QUESTIONS": 5000,
    # Text groups and knowledge gaps shown per period.
    "TOP_ISSUES_MAX_TOPICS": 20,
    # How long a grouping computed on the spot (no stored one yet, or an agent's scope) is kept in the cache.
    "TOP_ISSUES_CACHE_SECONDS": 300,
    # How often the background task groups a period again while it runs (the last 30 days, the current month).
    "TOP_ISSUES_REFRESH_SECONDS": 900,
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])
