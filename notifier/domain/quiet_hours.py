"""Quiet hours: per channel, local times when nothing is sent (by default no SMS 21:00-08:00).

A delivery that falls inside waits, ``deferred`` until the window's end (the next allowed
minute), and is then sent; it is never dropped, and the wait is not an attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from notifier.config import Settings


@dataclass(frozen=True)
class Window:
    """From ``start`` to ``end`` local time; past midnight when ``end`` is not after ``start``."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"21:00-08:00"`` (the settings have checked the form)."""
        start, end = text.split("-")
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def covers(self, moment: time) -> bool:
        """True when the local time ``moment`` is inside the window."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class QuietHours:
    """The quiet window of each channel, in the deployment's zone."""

    windows: Mapping[str, Window]
    zone: tzinfo

    @classmethod
    def from_settings(cls, settings: Settings) -> QuietHours:
        """The ``[quiet_hours]`` settings: a window per channel, or none."""
        given = settings.quiet_hours.model_dump()
        windows = {channel: Window.parse(text) for channel, text in given.items() if text}
        return cls(windows=windows, zone=settings.zone)

    def until(self, channel: str, now: datetime) -> datetime | None:
        """When ``channel`` may send again if ``now`` is inside its quiet window, else None."""
        window = self.windows.get(channel)
        local = now.astimezone(self.zone)
        if window is None or not window.covers(local.time().replace(tzinfo=None)):
            return None
        end = datetime.combine(local.date(), window.end, tzinfo=self.zone)
        if end <= local:
            end += timedelta(days=1)
        return end


NO_QUIET_HOURS = QuietHours(windows={}, zone=UTC)
