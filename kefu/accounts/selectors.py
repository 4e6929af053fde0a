from __future__ import annotations

import zoneinfo
from functools import cache

from kefu.accounts.models import ApiToken, User


def tokens_of(user: User) -> list[ApiToken]:
    """The user's own API tokens, newest first (revoked ones included, marked)."""
    return list(ApiToken.objects.filter(user=user).order_by("-created_at"))


@cache
def time_zone_choices() -> list[str]:
    return sorted(zoneinfo.available_timezones())
