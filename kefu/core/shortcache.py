"""Per-process caches of small, rarely edited configuration (webhook endpoints, SLA policies) that the
intake path would otherwise read on every ticket. An edit made in this process is seen at once (the
model's save calls `forget`); other processes see it within `seconds`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ShortLived(Generic[T]):
    def __init__(self, load: Callable[[], T], seconds: float = 5.0) -> None:
        self._load, self._seconds = load, seconds
        self._value: tuple[float, T] | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._value[0] > self._seconds:
                self._value = (time.monotonic(), self._load())
            return self._value[1]

    def forget(self) -> None:
        with self._lock:
            self._value = None


_all: list[ShortLived[object]] = []


def short_lived(load: Callable[[], T], seconds: float = 5.0) -> ShortLived[T]:
    cache = ShortLived(load, seconds)
    _all.append(cache)  # type: ignore[arg-type]
    return cache


def forget_all() -> None:
    """For tests: nothing cached survives into the next test's database."""
    for cache in _all:
        cache.forget()
