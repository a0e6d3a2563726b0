"""When a campaign runs: once at a time, or by a cron expression read in a time zone, until an
optional end. APScheduler 3's ``CronTrigger`` computes the cron runs.

APScheduler reads the day-of-week field its own way: ``0`` is Monday (standard cron: Sunday).
Day names (``MON``, ``MON-FRI``) mean the same in both, so campaign files should use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from notifier.errors import InputError

# A cron that fires every minute over a week of downtime is 10,080 runs; only these many of
# the newest are looked at (the older ones are neither made nor recorded).
MAX_RUNS_PER_SCAN = 100


def read_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``).

    Raises:
        InputError: (field ``timezone``) no such time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"时区 timezone: unknown time zone {name!r} (e.g. Asia/Shanghai)", field="timezone"
        ) from None


def read_cron(expression: str, zone: ZoneInfo) -> CronTrigger:
    """The five-field cron expression as a trigger in ``zone``.

    Raises:
        InputError: (field ``cron``) not five fields, or a field APScheduler cannot read.
    """
    if len(expression.split()) != 5:
        raise InputError(
            f"定时 cron: {expression!r} must have 5 fields: minute hour day month day-of-week "
            "(e.g. '0 9 * * MON')",
            field="cron",
        )
    try:
        return CronTrigger.from_crontab(expression, timezone=zone)
    except ValueError as exc:
        raise InputError(f"定时 cron: {expression!r}: {exc}", field="cron") from None


@dataclass(frozen=True)
class Schedule:
    """``once_at``, or ``cron`` in ``timezone`` from ``starts_at``; no run after ``ends_at``."""

    once_at: datetime | None = None
    cron: str | None = None
    timezone: str = "Asia/Shanghai"
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def runs(self, after: datetime, until: datetime) -> list[datetime]:
        """The run times in (``after``, ``until``], oldest first (at most the newest
        ``MAX_RUNS_PER_SCAN``)."""
        until = min(until, self.ends_at) if self.ends_at else until
        if self.starts_at is not None:
            after = max(after, self.starts_at - timedelta(seconds=1))
        if self.once_at is not None:
            return [self.once_at] if after < self.once_at <= until else []
        if self.cron is None:
            return []
        trigger = read_cron(self.cron, read_zone(self.timezone))
        found: list[datetime] = []
        cursor = after + timedelta(seconds=1)  # runs fall on whole seconds
        while True:
            moment = trigger.get_next_fire_time(None, cursor)
            if moment is None or moment > until:
                return found[-MAX_RUNS_PER_SCAN:]
            found.append(moment)
            cursor = moment + timedelta(seconds=1)

    def next_run(self, after: datetime) -> datetime | None:
        """The first run after ``after``, or None when there is none (once done, or ended)."""
        if self.once_at is not None:
            upcoming = self.once_at if self.once_at > after else None
        elif self.cron is None:
            upcoming = None
        else:
            trigger = read_cron(self.cron, read_zone(self.timezone))
            if self.starts_at is not None:
                after = max(after, self.starts_at - timedelta(seconds=1))
            upcoming = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        if upcoming is not None and self.ends_at is not None and upcoming > self.ends_at:
            return None
        return upcoming


# The repeats a clerk picks in the console; each becomes a cron line behind the scenes.
REPEATS = ("weekly", "monthly", "workdays")
# Day names, not numbers: APScheduler and standard cron number the weekdays differently.
WEEKDAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# Every month has these days, so a monthly campaign never skips a month.
LAST_MONTH_DAY = 28
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def read_clock(text: str) -> tuple[int, int]:
    """``"09:00"`` as ``(9, 0)``.

    Raises:
        InputError: (field ``at``) not a time of day HH:MM.
    """
    found = _CLOCK.match(text.strip())
    if found is None:
        raise InputError(
            f"时间 at: {text!r} 不是“时:分” is not a time of day HH:MM (e.g. 09:00)", field="at"
        )
    return int(found.group(1)), int(found.group(2))


def cron_of(repeat: str, at: str, *, weekday: int | None = None, day: int | None = None) -> str:
    """The cron line for a repeat chosen in words: ``weekly`` on ``weekday`` (0 = 周一),
    ``monthly`` on ``day`` (1..28), or ``workdays`` (Monday to Friday), each at ``at`` (HH:MM).

    >>> cron_of("weekly", "09:00", weekday=0)
    '0 9 * * MON'

    Raises:
        InputError: naming the field: ``repeat``, ``at``, ``weekday`` or ``day``.
    """
    hour, minute = read_clock(at)
    if repeat == "weekly":
        if weekday is None or not 0 <= weekday < len(WEEKDAY_NAMES):
            raise InputError(
                "星期 weekday: 请选择周一至周日 choose a day of the week", field="weekday"
            )
        return f"{minute} {hour} * * {WEEKDAY_NAMES[weekday]}"
    if repeat == "monthly":
        if day is None or not 1 <= day <= LAST_MONTH_DAY:
            raise InputError(
                f"日期 day: 每月的第几天须在 1 到 {LAST_MONTH_DAY} 之间 "
                f"the day of the month must be 1..{LAST_MONTH_DAY}",
                field="day",
            )
        return f"{minute} {hour} {day} * *"
    if repeat == "workdays":
        return f"{minute} {hour} * * MON-FRI"
    raise InputError(
        f"重复 repeat: {repeat!r} 不是可选的重复方式 is not one of {', '.join(REPEATS)}",
        field="repeat",
    )


@dataclass(frozen=True)
class Repeat:
    """A repeat as a clerk chose it: ``repeat`` (weekly, monthly, workdays) at ``at`` (HH:MM),
    on ``weekday`` (0 = Monday) or ``day`` (of the month)."""

    repeat: str
    at: str
    weekday: int | None = None
    day: int | None = None


def repeat_of(cron: str | None) -> Repeat | None:
    """The choice :func:`cron_of` makes ``cron`` from, or None for any other cron line."""
    fields = (cron or "").split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()) or fields[3] != "*":
        return None
    minute, hour, day, _, weekday = fields
    if not (int(minute) < 60 and int(hour) < 24):
        return None
    at = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and weekday in WEEKDAY_NAMES:
        return Repeat("weekly", at, weekday=WEEKDAY_NAMES.index(weekday))
    if day == "*" and weekday == "MON-FRI":
        return Repeat("workdays", at)
    if day.isdigit() and 1 <= int(day) <= LAST_MONTH_DAY and weekday == "*":
        return Repeat("monthly", at, day=int(day))
    return None
