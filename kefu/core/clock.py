"""The one source of the current time.

Every service asks ``now()``; tests move time with ``frozen_at`` instead of patching modules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

_frozen: list[dt.datetime] = []


def now() -> dt.datetime:
    if _frozen:
        return _frozen[-1]
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    _frozen.append(moment)
    try:
        yield
    finally:
        _frozen.pop()


def advance(delta: dt.timedelta) -> None:
    """Move frozen time forward (only inside ``frozen_at``)."""
    if not _frozen:
        raise RuntimeError("advance() only works inside frozen_at()")
    _frozen[-1] = _frozen[-1] + delta
