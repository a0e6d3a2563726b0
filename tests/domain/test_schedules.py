"""The cron builder behind the console's "every week on 周一 09:00" schedule choices."""

from datetime import UTC, datetime

import pytest

from notifier.domain.schedules import Repeat, Schedule, cron_of, repeat_of
from notifier.errors import InputError


@pytest.mark.parametrize(
    ("repeat", "at", "extra", "cron"),
    [
        ("weekly", "09:00", {"weekday": 0}, "0 9 * * MON"),
        ("weekly", "17:30", {"weekday": 6}, "30 17 * * SUN"),
        ("monthly", "09:00", {"day": 1}, "0 9 1 * *"),
        ("monthly", "8:05", {"day": 28}, "5 8 28 * *"),
        ("workdays", "09:00", {}, "0 9 * * MON-FRI"),
    ],
)
def test_each_repeat_becomes_its_cron(
    repeat: str, at: str, extra: dict[str, int], cron: str
) -> None:
    assert cron_of(repeat, at, **extra) == cron


def test_weekly_on_monday_runs_next_monday_at_nine_local() -> None:
    schedule = Schedule(cron=cron_of("weekly", "09:00", weekday=0), timezone="Asia/Shanghai")
    # Wednesday 2026-12-02 10:00 in Shanghai.
    after = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    upcoming = schedule.next_run(after)
    assert upcoming is not None
    assert upcoming.astimezone(UTC) == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_working_days_skip_the_weekend() -> None:
    schedule = Schedule(cron=cron_of("workdays", "09:00"), timezone="Asia/Shanghai")
    friday_noon = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
    upcoming = schedule.next_run(friday_noon)
    assert upcoming is not None
    assert upcoming.astimezone(UTC) == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("repeat", "at", "extra", "field"),
    [
        ("weekly", "25:00", {"weekday": 0}, "at"),
        ("weekly", "9点", {"weekday": 0}, "at"),
        ("weekly", "09:00", {}, "weekday"),
        ("weekly", "09:00", {"weekday": 7}, "weekday"),
        ("monthly", "09:00", {"day": 31}, "day"),
        ("monthly", "09:00", {}, "day"),
        ("yearly", "09:00", {}, "repeat"),
    ],
)
def test_a_bad_choice_is_refused_naming_its_field(
    repeat: str, at: str, extra: dict[str, int], field: str
) -> None:
    with pytest.raises(InputError) as caught:
        cron_of(repeat, at, **extra)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("repeat", "extra"),
    [("weekly", {"weekday": 2}), ("monthly", {"day": 15}), ("workdays", {})],
)
def test_a_cron_made_from_words_reads_back_as_those_words(
    repeat: str, extra: dict[str, int]
) -> None:
    assert repeat_of(cron_of(repeat, "08:05", **extra)) == Repeat(repeat, "08:05", **extra)


@pytest.mark.parametrize("cron", ["*/5 * * * *", "0 9 * 1 MON", "0 9 1 * MON", None, "0 9 31 * *"])
def test_other_cron_lines_have_no_words(cron: str | None) -> None:
    assert repeat_of(cron) is None
