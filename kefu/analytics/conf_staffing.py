"""The staffing planner's settings (docs/staffing.md): a default here; a deployment overrides it in
settings.KEFU or as KEFU_<NAME>. The planner page lets a supervisor try other targets and shrinkage without
changing these."""

from __future__ import annotations

from typing import Any

from kefu.core.knobs import knob

DEFAULTS: dict[str, Any] = {
    # Arrivals are the average of this many past weeks (fewer while the history is shorter).
    "STAFFING_WEEKS": 4,
    # Share of paid time spent off contacts (breaks, meetings, training, absence), 0 ≤ s < 1.
    "STAFFING_SHRINKAGE": 0.30,
    # Service-level targets: PERCENT % of contacts answered within SECONDS. OTHER is every channel not named.
    "STAFFING_TARGET_CHAT_PERCENT": 80.0,
    "STAFFING_TARGET_CHAT_SECONDS": 30,
    "STAFFING_TARGET_PHONE_PERCENT": 80.0,
    "STAFFING_TARGET_PHONE_SECONDS": 20,
    "STAFFING_TARGET_EMAIL_PERCENT": 90.0,
    "STAFFING_TARGET_EMAIL_SECONDS": 7200,
    "STAFFING_TARGET_WEB_PERCENT": 90.0,
    "STAFFING_TARGET_WEB_SECONDS": 7200,
    "STAFFING_TARGET_OTHER_PERCENT": 90.0,
    "STAFFING_TARGET_OTHER_SECONDS": 7200,
    # Average handling time in seconds where none is measured: chats and calls until the first ones are
    # measured; e-mail, web and the other channels always (docs/metrics.md: they have no measured time).
    "STAFFING_AHT_CHAT": 300,
    "STAFFING_AHT_PHONE": 240,
    "STAFFING_AHT_EMAIL": 600,
    "STAFFING_AHT_WEB": 600,
    "STAFFING_AHT_OTHER": 600,
}

NAMED_CHANNELS = ("chat", "phone", "email", "web")


def get(name: str) -> Any:
    return knob(name, DEFAULTS[name])


def _key(channel: str) -> str:
    return channel.upper() if channel in NAMED_CHANNELS else "OTHER"


def target_of(channel: str) -> tuple[float, int]:
    """(percent, seconds) of the channel's service-level target."""
    key = _key(channel)
    return float(get(f"STAFFING_TARGET_{key}_PERCENT")), int(get(f"STAFFING_TARGET_{key}_SECONDS"))


def default_aht(channel: str) -> float:
    return float(get(f"STAFFING_AHT_{_key(channel)}"))
