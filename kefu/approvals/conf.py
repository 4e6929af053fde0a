"""The approvals' settings: ``settings.KEFU[NAME]`` or the environment's ``KEFU_<NAME>`` overrides each default."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # The currency of every amount and limit; amounts in other currencies are refused.
    "APPROVALS_CURRENCY": "CNY",
    # How far back the approvals page lists requests already decided.
    "APPROVALS_RECENT_DAYS": 14,
    # A request still waiting after this many minutes is brought up again to those who may approve it
    # (once); 0 turns the reminder off.
    "APPROVALS_REMIND_AFTER_MINUTES": 60,
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])


def currency() -> str:
    return str(get("APPROVALS_CURRENCY"))


def recent_days() -> int:
    return int(get("APPROVALS_RECENT_DAYS"))


def remind_after_minutes() -> int:
    return int(get("APPROVALS_REMIND_AFTER_MINUTES"))
