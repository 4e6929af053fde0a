"""Our own invariants as Django system checks (run by ``kefu check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connection


@register(Tags.security, deploy=True)
def check_production_mode(app_configs: Any, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if not settings.PRODUCTION:
        problems.append(
            Warning(
                "KEFU_PRODUCTION is not set: the embedded mode is for a single machine, not for the internet.",
                id="kefu.W001",
            )
        )
    if settings.PRODUCTION and connection.vendor == "sqlite":
        problems.append(
            Warning("Production runs on SQLite; set DATABASE_URL to PostgreSQL to scale out.", id="kefu.W002")
        )
    if settings.PRODUCTION and settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and not (
        settings.EMAIL_USE_TLS or getattr(settings, "EMAIL_USE_SSL", False)
    ):
        problems.append(Error("Outgoing mail must use TLS (KEFU_EMAIL_TLS=1).", id="kefu.E001"))
    return problems
