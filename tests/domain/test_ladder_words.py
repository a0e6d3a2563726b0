"""Reminder ladders as a clerk writes them: in Chinese words, in English words, or as codes."""

from __future__ import annotations

from datetime import date

import pytest

from notifier.domain.ladder import Rung, ladder_words, parse_ladder, parse_rung
from notifier.domain.workdays import DayKind, WorkCalendar
from notifier.errors import InputError


@pytest.mark.parametrize(
    "written",
    [
        "5wd 2wd 0d",
        "5个工作日、2个工作日、当天",
        "5 个工作日，2 工作日前；截止当日",
        "5 working days, 2 working days before, the day",
    ],
)
def test_a_ladder_in_words_or_codes_is_the_same_rungs(written):
    assert parse_ladder(ladder_words(written)) == (
        Rung(5, working=True), Rung(2, working=True), Rung(0, working=False)
    )


def test_calendar_days_in_chinese_are_days():
    assert ladder_words("7天 3日 1天前") == ["7d", "3d", "1d"]


def test_a_word_that_is_no_rung_is_refused_in_chinese_first_naming_it():
    with pytest.raises(InputError) as refused:
        parse_rung("下周")
    assert str(refused.value).startswith("'下周' 不是提醒时间")
    with pytest.raises(InputError, match="more than 60 days"):
        parse_rung("99天")


def test_the_working_day_n_days_after_skips_holidays_and_works_adjusted_weekends():
    calendar = WorkCalendar(
        known_years=frozenset({2031}),
        days={date(2031, 3, 6): DayKind.HOLIDAY, date(2031, 3, 8): DayKind.WORKDAY},
    )
    # Monday 3 March: Tue 4, Wed 5, (Thu 6 off), Fri 7, Sat 8 worked, (Sun 9), Mon 10.
    assert calendar.working_days_after(date(2031, 3, 3), 0) == date(2031, 3, 3)
    assert calendar.working_days_after(date(2031, 3, 3), 2) == date(2031, 3, 5)
    assert calendar.working_days_after(date(2031, 3, 3), 4) == date(2031, 3, 8)
    assert calendar.working_days_after(date(2031, 3, 3), 5) == date(2031, 3, 10)
