"""The working-day calendar the district maintains: seed it, read it, change it (audited).

Every face (``notifier calendar``, the console's calendar page) calls these functions. The years
``chinesecalendar`` knows are seeded the first time the calendar is read (or by
``notifier db upgrade``); a year that already has a row is never seeded over, so admins' edits
stay. Each change writes its audit row in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.metadata import version
from typing import Any

from chinese_calendar import constants as seed_data
from sqlalchemy.orm import Session

from notifier.domain.holiday_notice import MAX_NAME, Notice, read_name
from notifier.domain.time_source import TimeSource
from notifier.domain.workdays import WEEKDAYS_ZH, DayKind, WorkCalendar
from notifier.errors import InputError
from notifier.services import audit
from notifier.services.context import Context
from notifier.store import calendar as store
from notifier.store.calendar import DayEntry
from notifier.store.db import SessionFactory

log = logging.getLogger(__name__)

SEED_SOURCE = f"chinesecalendar {version('chinesecalendar')}"
# The dashboard warns this long before the last known year ends.
WARN_BEFORE = timedelta(days=60)
FIRST_YEAR, LAST_YEAR = 2000, 2100


def seed_years() -> dict[int, dict[date, DayEntry]]:
    """The holidays and worked weekends ``chinesecalendar`` has, by year, names in Chinese."""
    chinese = {holiday.value: holiday.chinese for holiday in seed_data.Holiday}
    years: dict[int, dict[date, DayEntry]] = {}
    tables = ((seed_data.holidays, DayKind.HOLIDAY), (seed_data.workdays, DayKind.WORKDAY))
    for table, kind in tables:
        for day, name in table.items():
            years.setdefault(day.year, {})[day] = (kind, chinese.get(name, name)[:MAX_NAME])
    return years


def ensure_seeded(session: Session, *, now: datetime) -> list[int]:
    """Seed the years ``chinesecalendar`` knows that have no row yet; the years seeded."""
    have = store.year_numbers(session)
    seeded = [
        year
        for year, days in sorted(seed_years().items())
        if year not in have
        and store.seed_year(session, year=year, days=days, source=SEED_SOURCE, now=now)
    ]
    if seeded:
        log.info("working-day calendar seeded from %s: %s", SEED_SOURCE, seeded)
    return seeded


def seed(sessions: SessionFactory, *, time_source: TimeSource) -> list[int]:
    """Seed the calendar (``notifier db upgrade`` calls this); the years added."""
    with sessions.begin() as session:
        return ensure_seeded(session, now=time_source.now())


def working_calendar(session: Session, *, now: datetime) -> WorkCalendar:
    """The calendar in the caller's session, seeded first if it never was."""
    ensure_seeded(session, now=now)
    return store.load(session)


def load(sessions: SessionFactory, *, time_source: TimeSource) -> WorkCalendar:
    """The calendar, seeded first if it never was."""
    with sessions.begin() as session:
        return working_calendar(session, now=time_source.now())


def read_year(value: object, field: str = "year") -> int:
    """A year as a form or command line gives it.

    Raises:
        InputError: not a whole number between 2000 and 2100.
    """
    text = str(value or "").strip()
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise InputError(
            f"{field}: 应为 {FIRST_YEAR}-{LAST_YEAR} 之间的年份 / must be a year from "
            f"{FIRST_YEAR} to {LAST_YEAR}, got {text[:20]!r}",
            field=field,
        )
    return int(text)


def read_day(value: object, field: str = "date") -> date:
    """A date written ``YYYY-MM-DD``.

    Raises:
        InputError: not such a date, or outside 2000-2100.
    """
    text = str(value or "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or len(text) != 10 or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InputError(
            f"{field}: 应为 YYYY-MM-DD 格式的日期 / must be a date like 2027-02-06, "
            f"got {text[:20]!r}",
            field=field,
        )
    return day


def read_kind(value: object) -> DayKind:
    """``holiday`` (放假) or ``workday`` (上班).

    Raises:
        InputError: anything else.
    """
    text = str(value or "").strip().lower()
    words = {"holiday": DayKind.HOLIDAY, "放假": DayKind.HOLIDAY, "workday": DayKind.WORKDAY,
             "上班": DayKind.WORKDAY}
    if text not in words:
        raise InputError(
            f"kind: 应为 holiday（放假）或 workday（上班）/ must be holiday or workday, "
            f"got {text[:20]!r}",
            field="kind",
        )
    return words[text]


def _audit(
    session: Session, context: Context, action: str, target: object, before: Any, after: Any
) -> None:
    audit.record(
        session, context, action=action, target_type="calendar", target_id=target,
        before=before, after=after,
    )  # fmt: skip


def _by(context: Context) -> str:
    """Who entered a day or year, as the calendar's rows name them."""
    return context.actor.name[:50]


def _day_state(session: Session, day: date) -> dict[str, str] | None:
    row = store.get_day(session, day)
    return None if row is None else {"kind": row.kind, "name": row.name}


def set_day(context: Context, day: date, kind: DayKind, *, name: str = "") -> None:
    """Enter ``day`` as a holiday or a worked day (``name``: the holiday, e.g. 春节).

    Raises:
        InputError: a workday on a weekday, or a name over 50 characters or with a control
            character.
    """
    if kind is DayKind.WORKDAY and day.weekday() < 5:
        raise InputError(
            f"date: {day.isoformat()} 是周{WEEKDAYS_ZH[day.weekday()]}，本来就上班 / is a weekday; "
            "only a weekend day can be entered as a workday",
            field="date",
        )
    name = read_name(name)
    now = context.time_source.now()
    with context.sessions.begin() as session:
        ensure_seeded(session, now=now)
        before = _day_state(session, day)
        store.put_day(session, day=day, kind=kind, name=name, by=_by(context), now=now)
        after = {"kind": kind.value, "name": name}
        _audit(session, context, "calendar.day.set", day.isoformat(), before, after)


def remove_day(context: Context, day: date) -> bool:
    """Remove ``day``'s entry: it is then worked Monday to Friday; False when it had none."""
    now = context.time_source.now()
    with context.sessions.begin() as session:
        ensure_seeded(session, now=now)
        before = _day_state(session, day)
        if before is None:
            return False
        store.remove_day(session, day)
        _audit(session, context, "calendar.day.remove", day.isoformat(), before, None)
    return True


def _year_state(session: Session, year: int) -> dict[str, Any] | None:
    row = store.get_year(session, year)
    if row is None:
        return None
    return {"complete": row.complete, "source": row.source, "entered_by": row.entered_by}


def mark_year(context: Context, year: int, *, complete: bool) -> None:
    """Mark ``year`` complete (its working days are then counted) or not complete."""
    now = context.time_source.now()
    source, by = context.actor.face, _by(context)
    with context.sessions.begin() as session:
        ensure_seeded(session, now=now)
        before = _year_state(session, year)
        store.put_year(session, year=year, complete=complete, source=source, by=by, now=now)
        after = {"complete": complete, "source": source, "entered_by": by}
        _audit(session, context, "calendar.year.set", year, before, after)


@dataclass(frozen=True)
class Entered:
    """What entering a notice did: the year, its holidays and worked days, the days replaced."""

    year: int
    holidays: int
    workdays: int
    replaced: int
    complete: bool


def enter_notice(context: Context, notice: Notice, *, complete: bool) -> Entered:
    """Make the notice's year what the notice says: its entered days are replaced by the
    notice's (a day it names in another year is entered too), and the year is marked
    ``complete`` or not. One transaction, one audit row with the days before and after."""
    now = context.time_source.now()
    year = notice.year
    source, by = context.actor.face, _by(context)
    with context.sessions.begin() as session:
        ensure_seeded(session, now=now)
        before = {"year": _year_state(session, year), "days": _days_state(session, year)}
        replaced = store.clear_year(session, year)
        for entry in notice.days.values():
            store.put_day(
                session, day=entry.day, kind=entry.kind, name=entry.name, by=by, now=now
            )
        store.put_year(session, year=year, complete=complete, source=source, by=by, now=now)
        after = {"year": _year_state(session, year), "days": _days_state(session, year)}
        _audit(session, context, "calendar.notice", year, before, after)
    kinds = [entry.kind for entry in notice.days.values()]
    entered = Entered(
        year,
        holidays=kinds.count(DayKind.HOLIDAY),
        workdays=kinds.count(DayKind.WORKDAY),
        replaced=replaced,
        complete=complete,
    )
    log.info("working-day calendar %s entered by %s: %s", year, by, entered)
    return entered


def _days_state(session: Session, year: int) -> dict[str, list[str]]:
    return {row.day.isoformat(): [row.kind, row.name] for row in store.days_of(session, year)}


def years(sessions: SessionFactory, *, time_source: TimeSource) -> list[dict[str, Any]]:
    """Every year with a row: complete or not, who entered it and when, how many days."""
    with sessions.begin() as session:
        ensure_seeded(session, now=time_source.now())
        counts = store.day_counts(session)
        result = [
            {
                "year": row.year,
                "complete": row.complete,
                "source": row.source,
                "entered_by": row.entered_by,
                "entered_at": row.entered_at,
                "holidays": counts.get((row.year, DayKind.HOLIDAY.value), 0),
                "workdays": counts.get((row.year, DayKind.WORKDAY.value), 0),
            }
            for row in store.years(session)
        ]
        return result


def days(sessions: SessionFactory, year: int, *, time_source: TimeSource) -> list[dict[str, Any]]:
    """The entered days of ``year`` in date order: date, weekday, kind, name, who and when."""
    with sessions.begin() as session:
        ensure_seeded(session, now=time_source.now())
        return [
            {
                "date": row.day,
                "weekday": WEEKDAYS_ZH[row.day.weekday()],
                "kind": row.kind,
                "name": row.name,
                "entered_by": row.entered_by,
                "entered_at": row.entered_at,
            }
            for row in store.days_of(session, year)
        ]


@dataclass(frozen=True)
class Coverage:
    """How far the calendar reaches from today, and whether staff should be warned."""

    today: date
    known_until: date | None
    warn: bool

    @property
    def missing_year(self) -> int:
        """The first year an admin should enter."""
        return self.known_until.year + 1 if self.known_until else self.today.year

    @property
    def days_left(self) -> int:
        """Days until the calendar runs out (0 when it already has)."""
        return max(0, (self.known_until - self.today).days) if self.known_until else 0


def coverage(calendar: WorkCalendar, today: date) -> Coverage:
    """Whether the calendar runs out within 60 days of ``today`` (or already has)."""
    until = calendar.known_until(today)
    return Coverage(today, until, until is None or until - today <= WARN_BEFORE)
