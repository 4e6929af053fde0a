"""A product policy knob of an app: ``settings.KEFU[NAME]`` when set, else the environment variable
``KEFU_<NAME>`` read as the default's type, else the app's default (each app lists its own in conf.py)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def knob(name: str, default: Any) -> Any:
    if name in settings.KEFU:
        return settings.KEFU[name]
    raw = os.environ.get(f"KEFU_{name}")
    if raw is None:
        return default
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return type(default)(raw)
    except ValueError:
        raise ImproperlyConfigured(f"KEFU_{name}={raw!r} is not a {type(default).__name__}") from None
