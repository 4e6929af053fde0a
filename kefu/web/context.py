"""Template context for every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from kefu.accounts.models import Role
from kefu.core.clock import now
from kefu.notifications.selectors import unread_alert_count


def staff_alerts(request: HttpRequest) -> dict[str, Any]:
    # Lazy: only the console's layout reads it, so other pages pay no query.
    user = getattr(request, "user", None)

    def count() -> int:
        return unread_alert_count(user) if user is not None and (
            getattr(user, "is_staff_member", False) or getattr(user, "role", None) == Role.DEPARTMENT) else 0

    # "now" from the product's clock, so countdowns agree with the deadlines (and with frozen time in tests).
    return {"unread_alerts": SimpleLazyObject(count), "now": now()}
