"""The one source of the current time: the clock's jobs and the pipeline ask it, never the OS.

``SystemTime`` reads the real time; ``ManualTime`` is the in-memory stand-in that tests set
and move forward, so a test of "two working days before the deadline at 09:00" moves time
instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimeSource(Protocol):
    """Tells the current time, aware, in UTC."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        ...


class SystemTime:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemTime()"


SYSTEM_TIME = SystemTime()


class ManualTime:
    """A clock that stands still until it is set or moved (tests; simulations). Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._now = _utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware)."""
        with self._lock:
            self._now = _utc(moment)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; return the new time."""
        with self._lock:
            self._now += delta
            return self._now

    def __repr__(self) -> str:
        return f"ManualTime({self._now.isoformat()})"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock keeps aware times only")
    return moment.astimezone(UTC)
