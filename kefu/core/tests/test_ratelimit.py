"""The rate limiter: counts in the database (shared by every web process), per window, with a knob per limit."""

from __future__ import annotations

import datetime as dt

import pytest

from kefu.core.clock import advance, frozen_at
from kefu.core.models import RateCounter
from kefu.core.ratelimit import RateLimit, forget_expired

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def test_a_key_is_refused_past_its_limit_until_the_window_ends():
    limit = RateLimit("test_scope", limit=3, window=3600)
    with frozen_at(NOON):
        assert [limit.hit("10.0.0.1") for _ in range(4)] == [True, True, True, False]
        assert limit.exceeded("10.0.0.1") and not limit.exceeded("10.0.0.2")
        assert limit.hit("10.0.0.2")  # another key has its own count
        advance(dt.timedelta(hours=1))
        assert not limit.exceeded("10.0.0.1") and limit.hit("10.0.0.1")  # a new window starts from one


def test_keys_are_stored_hashed_and_finished_windows_are_forgotten():
    limit = RateLimit("test_scope", limit=3, window=60)
    with frozen_at(NOON):
        limit.hit("Someone@Example.com")
        assert limit.exceeded("someone@example.com") is False
        assert not RateCounter.objects.filter(key__contains="example").exists()
        assert forget_expired() == 0
        advance(dt.timedelta(minutes=2))
        assert forget_expired() == 1 and not RateCounter.objects.exists()


def test_each_limit_is_a_knob(settings):
    settings.KEFU = {**settings.KEFU, "RATE_TEST_SCOPE": 1}
    limit = RateLimit("test_scope", limit=100, window=3600)
    with frozen_at(NOON):
        assert [limit.hit("10.0.0.1") for _ in range(2)] == [True, False]
