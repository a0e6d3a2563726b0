"""The working-day calendar: which days are worked in mainland China, for the years it knows.

A day is worked when it is a weekday that is not a public holiday, or a weekend day worked
instead (调休). Holidays and worked weekends change every year by the State Council's notice,
so the calendar knows only the years someone entered (or ``chinesecalendar`` seeded) and marked
complete; for any other year it raises ``CalendarYearUnknown`` and never guesses Monday to
Friday. Pure: the caller hands in the calendar it loaded.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from notifier.errors import InputError

# The console page an admin enters a year on, as the message names it.
PAGE_NAME = "工作日历"
# 周一 .. 周日, by ``date.weekday()``.
WEEKDAYS_ZH = "一二三四五六日"


class DayKind(enum.StrEnum):
    """What the notice makes of a day: a holiday (off) or a workday (a weekend worked)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


class CalendarYearUnknown(InputError):
    """A date falls in a year the calendar does not know: an admin must enter that year."""

    def __init__(self, year: int, *, field: str | None = None) -> None:
        where = f"{field}: " if field else ""
        super().__init__(
            f"{where}{year} 年的工作日历尚未录入，请管理员在“{PAGE_NAME}”页录入国务院放假安排 / "
            f"working-day calendar for {year} is not entered yet; an admin enters the State "
            "Council's holiday notice on the console's working-day calendar page "
            "(or `notifier calendar import`)",
            field=field,
        )
        self.year = year


@dataclass(frozen=True)
class WorkCalendar:
    """The known years and the days that differ from Monday to Friday.

    ``days`` maps a date to its kind; a day not in it is worked when it is Monday to Friday.
    Only dates in ``known_years`` can be answered.
    """

    known_years: frozenset[int] = frozenset()
    days: Mapping[date, DayKind] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` is worked.

        Raises:
            CalendarYearUnknown: ``day`` is in a year the calendar does not know.
        """
        if day.year not in self.known_years:
            raise CalendarYearUnknown(day.year)
        kind = self.days.get(day)
        if kind is not None:
            return kind is DayKind.WORKDAY
        return day.weekday() < 5

    def working_days_before(self, due: date, count: int) -> date:
        """The ``count``-th working day before ``due`` (``due`` itself for 0).

        Raises:
            CalendarYearUnknown: the walk back reaches a year the calendar does not know.
        """
        day, left = due, count
        while left:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_after(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself for 0).

        Raises:
            CalendarYearUnknown: the walk reaches a year the calendar does not know.
        """
        day, left = start, count
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_left(self, today: date, due: date) -> int:
        """The working days after ``today`` up to and including ``due`` (0 when ``due`` is
        today or past): what a firm has left to act.

        Raises:
            CalendarYearUnknown: a day between them is in a year the calendar does not know.
        """
        left, day = 0, today
        while day < due:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left += 1
        return left

    def known_until(self, today: date) -> date | None:
        """The last day of the run of known years starting with ``today``'s; None when
        ``today``'s year itself is unknown."""
        year = today.year
        if year not in self.known_years:
            return None
        while year + 1 in self.known_years:
            year += 1
        return date(year, 12, 31)
