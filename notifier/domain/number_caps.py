"""Daily caps per SMS number and message class, and the next day's opening.

A number gets at most ``notice_per_day`` notices and ``marketing_per_day`` marketing SMS per
local day (the deployment's zone). What passes its cap waits for the next day's opening: the
next local midnight, moved past the channel's quiet hours (08:00 by default). There it goes
out on its own (``defer``), or merged with the others held for its number and class into one
digest SMS (``digest``). Nothing over a cap is ever dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from notifier.config import Settings
from notifier.domain.message_class import MessageClass
from notifier.domain.quiet_hours import NO_QUIET_HOURS, QuietHours

OverCap = Literal["defer", "digest"]
DIGEST: OverCap = "digest"
# The message kind of a digest SMS: a vendor SMS account sends it through its approved template
# of this kind (required of every vendor account while ``over_cap = "digest"``).
DIGEST_KIND = "sms_digest"


def local_day(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The start and end (UTC) of the local day ``now`` falls in."""
    day = now.astimezone(zone).date()
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class NumberCaps:
    """The caps per message class, what becomes of the rest, and the zone days are counted in."""

    per_day: Mapping[str, int]
    over_cap: OverCap
    zone: tzinfo
    quiet: QuietHours = NO_QUIET_HOURS

    @classmethod
    def from_settings(cls, settings: Settings) -> NumberCaps:
        """The ``[number_caps]`` settings, with the quiet hours that move the day's opening."""
        caps = settings.number_caps
        return cls(
            per_day={
                MessageClass.NOTICE: caps.notice_per_day,
                MessageClass.MARKETING: caps.marketing_per_day,
            },
            over_cap=caps.over_cap,
            zone=settings.zone,
            quiet=QuietHours.from_settings(settings),
        )

    def cap(self, message_class: str) -> int | None:
        """The day's cap of ``message_class``; None: not capped."""
        return self.per_day.get(message_class)

    def day(self, now: datetime) -> tuple[datetime, datetime]:
        """The bounds (UTC) of the local day of ``now``."""
        return local_day(now, self.zone)

    def next_opening(self, channel: str, now: datetime) -> datetime:
        """When the next local day opens on ``channel``: midnight, or the end of the quiet
        hours that cover it."""
        midnight = self.day(now)[1]
        return self.quiet.until(channel, midnight) or midnight


NO_CAPS = NumberCaps(per_day={}, over_cap="defer", zone=UTC)
