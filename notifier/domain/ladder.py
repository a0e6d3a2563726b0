"""Reminder ladders: rungs such as ``5wd`` (five working days before) or ``0d`` (the day itself).

A working day follows the district's working-day calendar (``notifier.domain.workdays``): public
holidays are off and the adjusted weekends (调休) are worked. A ``wd`` rung that needs a year the
calendar does not know raises ``CalendarYearUnknown``; it is never guessed.

A rung goes out at the configured local hour of its day. ``Nwd`` is the N-th working day before
the due day (``1wd`` the working day just before it); ``Nd`` is N calendar days before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from notifier.domain.workdays import WorkCalendar
from notifier.errors import InputError

MAX_RUNGS = 10
MAX_RUNG_COUNT = 60
RUNG_PATTERN = r"^(\d{1,2})(wd|d)$"
_RUNG = re.compile(RUNG_PATTERN)
# A rung as a clerk writes it, turned into its code: 5个工作日 / 5 working days -> 5wd, 3天 /
# 3日 / 3 days -> 3d, 当天 / the day -> 0d (working days first: 工作日 ends in 日).
_WRITTEN = (
    (re.compile(r"(\d{1,2})\s*个?\s*工作日前?"), r"\1wd"),
    (re.compile(r"(\d{1,2})\s*working\s+days?(?:\s+before)?", re.I), r"\1wd"),
    (re.compile(r"(\d{1,2})\s*(?:天|日|days?)(?:前|\s+before)?", re.I), r"\1d"),
    (re.compile(r"(?:截止)?当[天日]|(?:on\s+)?the\s+(?:same\s+)?day", re.I), "0d"),
)
_BETWEEN_RUNGS = re.compile(r"[\s,，、;；和及]+")


@dataclass(frozen=True)
class Rung:
    """One step of a ladder: ``count`` days (working days when ``working``) before the due day."""

    count: int
    working: bool

    @property
    def label(self) -> str:
        """How the rung is written: ``2wd``, ``0d``."""
        return f"{self.count}{'wd' if self.working else 'd'}"


def parse_rung(text: str) -> Rung:
    """The rung ``text`` names (``5wd``, ``2wd``, ``0d``, ``7d``).

    Raises:
        InputError: not a rung, or more than 60 days.
    """
    written = _written(text.strip()) if isinstance(text, str) else ""
    match = _RUNG.match(written.lower())
    if match is None:
        raise InputError(
            f"'{text}' 不是提醒时间，请写如 5个工作日、3天、当天 / is not a rung like 5wd "
            "(working days) or 3d (days)"
        )
    count = int(match.group(1))
    if count > MAX_RUNG_COUNT:
        raise InputError(f"'{text}' is more than {MAX_RUNG_COUNT} days before")
    return Rung(count=count, working=match.group(2) == "wd")


def _written(text: str) -> str:
    for pattern, code in _WRITTEN:
        text = pattern.sub(code, text)
    return text


def ladder_words(text: str) -> list[str]:
    """The rungs of a ladder as a person writes it, each as its code: ``5wd 2wd 0d``,
    ``5个工作日、2个工作日、当天`` and ``5 working days, 2 working days, the day`` all give
    ``["5wd", "2wd", "0d"]`` (what is not a rung is kept as written, for the refusal)."""
    return [w for w in _BETWEEN_RUNGS.split(_written(text)) if w]


def parse_ladder(items: Iterable[str]) -> tuple[Rung, ...]:
    """The rungs, in the order given, repeats dropped.

    Raises:
        InputError: a rung is malformed, or there are more than 10.
    """
    rungs = tuple(dict.fromkeys(parse_rung(item) for item in items))
    if len(rungs) > MAX_RUNGS:
        raise InputError(f"{len(rungs)} rungs, at most {MAX_RUNGS}")
    return rungs


def rung_day(due: date, rung: Rung, calendar: WorkCalendar) -> date:
    """The day a rung falls on, for a deadline due on ``due``.

    Raises:
        CalendarYearUnknown: a working-day rung needs a year ``calendar`` does not know.
    """
    if not rung.working:
        return due - timedelta(days=rung.count)
    # 0wd is the due day itself, worked or not.
    return calendar.working_days_before(due, rung.count)


def rung_time(
    due_at: datetime, rung: Rung, *, zone: tzinfo, hour: int, calendar: WorkCalendar
) -> datetime:
    """When a rung goes out: ``hour``:00 local time on its day, as an aware time.

    Raises:
        CalendarYearUnknown: as ``rung_day``.
    """
    day = rung_day(due_at.astimezone(zone).date(), rung, calendar)
    return datetime.combine(day, time(hour), tzinfo=zone)
