"""The dashboard's targets: `settings.KEFU[NAME]`, else `KEFU_<NAME>` in the environment, else the default."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # A tile is green when its figure meets the target (rates are shares, 0–1; NPS in points).
    "TARGET_FIRST_RESPONSE_MINUTES": 120,
    "TARGET_SLA": 0.90,  # the share of each kind of SLA clock met in time
    "TARGET_FCR": 0.70,
    "TARGET_REOPEN": 0.05,
    "TARGET_CSAT": 0.90,
    "TARGET_NPS": 30,
    "TARGET_QA_PASS": 0.90,
}


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])
