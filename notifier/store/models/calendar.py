"""The working-day calendar: holidays and worked weekends (调休), and which years are known."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class CalendarYear(Base):
    """A year of the calendar: whether its holidays are complete, who entered them and when.

    Only a complete year is used to count working days; ``source`` is ``chinesecalendar
    <version>`` for a seeded year, else the face it was entered on.
    """

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    complete: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(50))
    entered_by: Mapped[str] = mapped_column(String(50))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarDay(Base):
    """A day that differs from Monday to Friday: a holiday, or a weekend day worked."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(50))
    entered_by: Mapped[str] = mapped_column(String(50))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
