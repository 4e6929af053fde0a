"""A fixed-window rate limiter whose counts live in the database, so that every web process shares them.

One ``INSERT … ON CONFLICT … RETURNING`` per counted attempt (SQLite ≥ 3.35 and PostgreSQL): atomic, whatever
the number of processes, with nothing to configure (a per-process cache would multiply each limit by the number
of workers). Keys are hashed, so an email or IP address is never stored as such. Each limit can be changed as
the knob ``RATE_<SCOPE>`` (``KEFU_RATE_<SCOPE>`` in the environment), e.g. ``KEFU_RATE_PORTAL_SUBMIT_IP=50``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest

from kefu.core.clock import now
from kefu.core.knobs import knob
from kefu.core.models import RateCounter

# A counter outlives its window by this much, so that a late hit never restarts a finished window's count.
GRACE_SECONDS = 5


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` hits per ``window`` seconds for each key within ``scope`` (the limit is a knob)."""

    scope: str
    limit: int
    window: int

    @property
    def allowed(self) -> int:
        return int(knob(f"RATE_{self.scope.upper()}", self.limit))

    def _key(self, key: str) -> str:
        return f"{self.scope}:{hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]}"

    def _bucket(self) -> int:
        return int(now().timestamp()) // self.window

    def hit(self, key: str) -> bool:
        """Count one attempt; True while the key is within its limit for the current window."""
        bucket = self._bucket()
        expires = dt.datetime.fromtimestamp((bucket + 1) * self.window + GRACE_SECONDS, tz=dt.UTC)
        with connection.cursor() as cursor:
            cursor.execute(_hit_sql(), [self._key(key), bucket, expires])
            count = cursor.fetchone()[0]
        return int(count) <= self.allowed

    def exceeded(self, key: str) -> bool:
        """Whether the key is already at its limit, without counting an attempt."""
        count = (RateCounter.objects.filter(key=self._key(key), bucket=self._bucket())
                 .values_list("count", flat=True).first())
        return (count or 0) >= self.allowed


def _hit_sql() -> str:
    q = connection.ops.quote_name
    table, key, bucket, count, expires = (q(RateCounter._meta.db_table), q("key"), q("bucket"), q("count"),
                                          q("expires_at"))
    return (f"INSERT INTO {table} ({key}, {bucket}, {count}, {expires}) VALUES (%s, %s, 1, %s) "  # noqa: S608 (the model's own table and columns)
            f"ON CONFLICT ({key}) DO UPDATE SET "
            f"{count} = CASE WHEN {table}.{bucket} = excluded.{bucket} THEN {table}.{count} + 1 ELSE 1 END, "
            f"{bucket} = excluded.{bucket}, {expires} = excluded.{expires} RETURNING {count}")


def forget_expired() -> int:
    """Delete the counters of finished windows (the scheduler calls it); returns how many."""
    deleted, _by_model = RateCounter.objects.filter(expires_at__lt=now()).delete()
    return deleted


def client_ip(request: HttpRequest) -> str:
    """The address the request came from (the proxy in front sets REMOTE_ADDR to the real client)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
