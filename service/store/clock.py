"""The one source of "now". The runtime carries a clock; the code below it takes `now` as an
argument, so that tests freeze time by handing over a clock instead of patching the wall one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, aware and in UTC: the runtime's clock outside tests."""
    return datetime.now(UTC)


def frozen_clock(at: datetime) -> Clock:
    """A clock that always says `at` (aware)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: give the time with its zone")
    return lambda: at
