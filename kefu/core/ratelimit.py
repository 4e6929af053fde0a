"""A small fixed-window rate limiter on Django's cache framework.

Only ``cache.add`` and ``cache.incr`` are used, so it behaves the same on the local-memory cache of the
embedded mode and on Redis (where ``incr`` is atomic across processes). Keys are hashed so that an
email address or an IP address never appears in the cache as such.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest

from kefu.core.clock import now


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` hits per ``window`` seconds for each key within ``scope``."""

    scope: str
    limit: int
    window: int

    def _cache_key(self, key: str) -> str:
        bucket = int(now().timestamp()) // self.window
        digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]
        return f"ratelimit:{self.scope}:{digest}:{bucket}"

    def hit(self, key: str) -> bool:
        """Count one attempt; True while the key is within its limit for the current window."""
        cache_key = self._cache_key(key)
        # The entry outlives its window a little so that a late incr never resurrects a stale count.
        cache.add(cache_key, 0, timeout=self.window + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # evicted or expired between add and incr
            cache.add(cache_key, 1, timeout=self.window + 5)
            count = 1
        return count <= self.limit

    def exceeded(self, key: str) -> bool:
        """Whether the key is already over its limit, without counting an attempt."""
        count = cache.get(self._cache_key(key), 0)
        return int(count) >= self.limit


def client_ip(request: HttpRequest) -> str:
    """The address the request came from (the proxy in front sets REMOTE_ADDR to the real client)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
