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


# A reach ladder (re-send to firms that have not opened the policy's page): at most this many
# rungs, each 1..MAX_RUNG_COUNT working days after the policy went out.
MAX_REACH_RUNGS = 5
# What a clerk writes for "no re-sends" (a blank field is the setting's default instead).
_NO_RUNGS = frozenset({"无", "不重发", "不再发送", "none", "no", "0"})


def reach_ladder(given: str | Iterable[str | int]) -> tuple[int, ...]:
    """The working days of a reach ladder, ascending, repeats dropped: ``2个工作日、5个工作日``,
    ``["2wd", "5wd"]``, ``[2, 5]`` and ``2 5`` all give ``(2, 5)``; ``无`` / ``none`` / ``[]``
    give ``()`` (no re-sends).

    Raises:
        InputError: a word is not a working-day rung (``3天``, ``当天``), 0 or over 60 working
            days, or there are more than :data:`MAX_REACH_RUNGS`.
    """
    if isinstance(given, str):
        if given.strip().lower() in _NO_RUNGS:
            return ()
        try:
            days = sorted({_working_days(word) for word in ladder_words(given)})
        except InputError as exc:
            # Named as written (the words were read into codes such as 3d on the way).
            raise InputError(f"'{given.strip()}'：{exc}") from None
    else:
        days = sorted({_working_days(item) for item in given})
    if len(days) > MAX_REACH_RUNGS:
        raise InputError(
            f"{len(days)} 个重发时间，最多 {MAX_REACH_RUNGS} 个 / at most {MAX_REACH_RUNGS} rungs"
        )
    return tuple(days)


def _working_days(item: str | int) -> int:
    # A bare number is working days; a rung must be working days, at least one.
    if isinstance(item, bool) or not isinstance(item, int | str):
        raise InputError(f"'{item}' 不是工作日数 / is not a number of working days")
    text = str(item).strip().removesuffix("后")
    rung = parse_rung(f"{text}wd" if text.isdigit() else text)
    if not rung.working or rung.count == 0:
        raise InputError(
            f"'{text}' 须为发布后的工作日数，如 2个工作日 / must be working days after "
            "publication, like 2wd"
        )
    return rung.count


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
