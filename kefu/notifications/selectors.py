"""Reads of a person's own staff alerts (nobody reads another's)."""

from __future__ import annotations

from kefu.accounts.models import User
from kefu.notifications.models import StaffAlert


def unread_alert_count(user: User) -> int:
    return StaffAlert.objects.filter(user=user, read_at__isnull=True).count()


def recent_alerts(user: User, limit: int = 100) -> list[StaffAlert]:
    return list(StaffAlert.objects.filter(user=user).order_by("-created_at", "-id")[:limit])
