"""The working-day calendar's rows: known years and the days that differ from Monday-Friday."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from notifier.domain.workdays import DayKind, WorkCalendar
from notifier.store import insert_ignoring_conflicts, table_of
from notifier.store.models import CalendarDay, CalendarYear

# One day as the store takes it: its kind and the holiday's name.
DayEntry = tuple[DayKind, str]


def load(session: Session) -> WorkCalendar:
    """The calendar as the domain rules take it: complete years and every entered day."""
    known = session.scalars(select(CalendarYear.year).where(CalendarYear.complete.is_(True)))
    days = session.execute(select(CalendarDay.day, CalendarDay.kind))
    return WorkCalendar(
        known_years=frozenset(known), days={day: DayKind(kind) for day, kind in days}
    )


def years(session: Session) -> list[CalendarYear]:
    """Every year with a row, oldest first."""
    return list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))


def year_numbers(session: Session) -> set[int]:
    """The years that have a row, complete or not."""
    return set(session.scalars(select(CalendarYear.year)))


def day_counts(session: Session) -> dict[tuple[int, str], int]:
    """How many days of each kind each year has entered, by (year, kind)."""
    query = select(CalendarDay.year, CalendarDay.kind, func.count()).group_by(
        CalendarDay.year, CalendarDay.kind
    )
    return {(year, kind): count for year, kind, count in session.execute(query)}


def get_year(session: Session, year: int) -> CalendarYear | None:
    """The row of ``year``, if it has one."""
    return session.get(CalendarYear, year)


def days_of(session: Session, year: int) -> list[CalendarDay]:
    """The entered days of ``year``, in date order."""
    query = select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)
    return list(session.scalars(query))


def get_day(session: Session, day: date) -> CalendarDay | None:
    """The entered row of ``day``, if any."""
    return session.get(CalendarDay, day)


def seed_year(
    session: Session, *, year: int, days: Mapping[date, DayEntry], source: str, now: datetime
) -> bool:
    """Add ``year`` as complete with ``days`` unless it has a row; True when it was added.

    A year with a row is left alone, so admins' edits stay; of two processes seeding at once,
    one adds it.
    """
    added = session.execute(
        insert_ignoring_conflicts(session, table_of(CalendarYear))
        .values(year=year, complete=True, source=source, entered_by=source, entered_at=now)
        .returning(table_of(CalendarYear).c.year)
    ).scalar()
    if added is None:
        return False
    rows = [
        {
            "day": day,
            "year": day.year,
            "kind": kind.value,
            "name": name,
            "entered_by": source,
            "entered_at": now,
        }
        for day, (kind, name) in days.items()
    ]
    if rows:
        session.execute(insert_ignoring_conflicts(session, table_of(CalendarDay)), rows)
    return True


def put_day(
    session: Session, *, day: date, kind: DayKind, name: str, by: str, now: datetime
) -> CalendarDay:
    """Enter ``day`` as ``kind`` (replacing what it was)."""
    row = session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, year=day.year)
        session.add(row)
    row.kind, row.name, row.entered_by, row.entered_at = kind.value, name, by, now
    session.flush()
    return row


def remove_day(session: Session, day: date) -> bool:
    """Remove ``day``'s entry (it becomes a plain weekday or weekend); False if it had none."""
    result = session.execute(delete(CalendarDay).where(CalendarDay.day == day))
    return bool(getattr(result, "rowcount", 0))


def clear_year(session: Session, year: int) -> int:
    """Remove every entered day of ``year``; how many there were."""
    result = session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    return int(getattr(result, "rowcount", 0))


def put_year(
    session: Session, *, year: int, complete: bool, source: str, by: str, now: datetime
) -> CalendarYear:
    """Record ``year`` as complete or not, entered by ``by`` now."""
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        session.add(row)
    row.complete, row.source, row.entered_by, row.entered_at = complete, source, by, now
    session.flush()
    return row
