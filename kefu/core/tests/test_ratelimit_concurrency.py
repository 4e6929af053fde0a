"""Two connections (two web processes) counting the same key at once: every hit is counted, none twice."""

from __future__ import annotations

import pytest
from django.conf import settings

from kefu.core.ratelimit import RateLimit
from kefu.testing.concurrency import race

# As kefu/routing/tests/test_concurrency.py: concurrent connections are tested on PostgreSQL (CI runs the suite on
# both databases); skipped at collection on SQLite so no transactional test empties the database for the others.
pytestmark = [
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                       reason="concurrent connections are tested on PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_limit_holds_across_processes():
    limit = RateLimit("race_scope", limit=15, window=3600)

    def ten_hits() -> list[bool]:
        return [limit.hit("10.0.0.9") for _ in range(10)]

    outcomes = race(ten_hits, ten_hits)
    allowed = [ok for result in outcomes for ok in result]  # type: ignore[attr-defined]
    assert (allowed.count(True), allowed.count(False)) == (15, 5)
