from __future__ import annotations

from kefu.core import ratelimit
from kefu.core.periodic import periodic


@periodic(seconds=3600)
def forget_expired_rate_counters() -> None:
    ratelimit.forget_expired()
