"""Quiet hours: per channel, local times when nothing is sent (by default no SMS 21:00-08:00);
and the marketing hours, the only local times a marketing (营销) message goes out on any channel
(by default 08:00-20:00).

A delivery that falls outside waits, ``deferred`` until the next allowed minute, and is then
sent; it is never dropped, and the wait is not an attempt.
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
    # The hours marketing messages may go out in (None: any hour the channel allows).
    marketing: Window | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> QuietHours:
        """The ``[quiet_hours]`` settings (a window per channel, or none) and
        ``content.marketing_hours``."""
        given = settings.quiet_hours.model_dump()
        windows = {channel: Window.parse(text) for channel, text in given.items() if text}
        marketing = Window.parse(settings.content.marketing_hours)
        return cls(windows=windows, zone=settings.zone, marketing=marketing)

    def until(
        self, channel: str, now: datetime, message_class: str | None = None
    ) -> datetime | None:
        """When a message of ``message_class`` on ``channel`` may go out if it may not at
        ``now``, else None: the end of the channel's quiet window, and for marketing the next
        opening of the marketing hours (the later of the two)."""
        moment, waited = now.astimezone(self.zone), False
        # One rule's end may fall inside the other's closed hours: a few steps settle it (a
        # quiet window and marketing hours that never meet end after the last step).
        for _step in range(4):
            moments = [self._quiet_end(channel, moment)]
            if message_class == "marketing":
                moments.append(self._marketing_opens(moment))
            waits = [found for found in moments if found is not None]
            if not waits:
                break
            moment, waited = max(waits), True
        return moment if waited else None

    def _quiet_end(self, channel: str, local: datetime) -> datetime | None:
        window = self.windows.get(channel)
        if window is None or not window.covers(local.time().replace(tzinfo=None)):
            return None
        return _next(local, window.end, self.zone)

    def _marketing_opens(self, local: datetime) -> datetime | None:
        window = self.marketing
        if window is None or window.start == window.end:
            return None
        # Outside the allowed hours is inside their complement, which ends at their start.
        if Window(window.end, window.start).covers(local.time().replace(tzinfo=None)):
            return _next(local, window.start, self.zone)
        return None


def _next(local: datetime, moment: time, zone: tzinfo) -> datetime:
    """The first ``moment`` of local time after ``local`` (today's, else tomorrow's)."""
    end = datetime.combine(local.date(), moment, tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)
    return end


NO_QUIET_HOURS = QuietHours(windows={}, zone=UTC)
