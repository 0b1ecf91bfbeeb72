"""The sandbox's notion of now, which a demo can pin and move to play a week in minutes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Real UTC time until pinned; once pinned it stands still until set or advanced again."""

    def __init__(self) -> None:
        self._pinned: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._pinned or datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            self._pinned = moment.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._pinned = (self._pinned or datetime.now(UTC)) + timedelta(seconds=seconds)

    def release(self) -> None:
        """Back to real time."""
        with self._lock:
            self._pinned = None

    @property
    def pinned(self) -> bool:
        return self._pinned is not None
