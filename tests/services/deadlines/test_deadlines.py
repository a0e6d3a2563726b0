"""Deadline reminders on a clock the tests move: each rung once, at 09:00 local on the right
working day (the Chinese calendar's holidays and adjusted weekends), never to an enterprise that
marked the deadline done; a moved deadline moves its unsent rungs; a cancelled one goes quiet.

chinesecalendar 1.11 has 2026's holidays: National Day runs 1-7 October, 10 October (a
Saturday) is worked, and 25 September is the Mid-Autumn holiday.
"""

from __future__ import annotations

import json

import pytest

from notifier.domain.ladder import parse_rung, rung_day
from notifier.domain.time_source import ManualTime
from notifier.domain.workdays import WorkCalendar
from notifier.errors import InputError
from notifier.services.calendar.working_days import seed_years
from notifier.services.deadlines.operations import (
    cancel_deadline,
    mark_done_by_token,
    move_deadline,
    report,
)
from notifier.services.delivery.fanout import fan_out

from support.deadlines import Park, at
from support.factories import (
    Enqueued,
    Firm,
    acting,
    credit_code,
    enterprise_csv,
    policy,
    send_batch,
)


def test_working_days_follow_the_chinese_calendar_around_national_day_2026():
    seeded = seed_years()[2026]
    calendar = WorkCalendar(frozenset({2026}), {day: kind for day, (kind, _) in seeded.items()})
    assert not calendar.is_working_day(at("2026-10-05 00:00").date())  # a Monday in the holiday
    assert calendar.is_working_day(at("2026-10-10 00:00").date())  # a Saturday worked instead
    assert not calendar.is_working_day(at("2026-09-25 00:00").date())  # Mid-Autumn Festival
    due = at("2026-10-08 00:00").date()  # the first working day after National Day
    assert rung_day(due, parse_rung("1wd"), calendar) == at("2026-09-30 00:00").date()
    assert rung_day(due, parse_rung("2wd"), calendar) == at("2026-09-29 00:00").date()
    assert rung_day(due, parse_rung("5wd"), calendar) == at("2026-09-23 00:00").date()
    assert rung_day(due, parse_rung("2d"), calendar) == at("2026-10-06 00:00").date()


@pytest.fixture
def park(database_url, make_runtime):
    def build(**deadline) -> Park:
        time_source = ManualTime(at("2026-09-28 08:00"))
        return Park(make_runtime(database_url=database_url, time_source=time_source), time_source,
        **deadline)

    return build


def test_a_2wd_rung_before_national_day_reminds_at_0900_on_the_right_working_day_once_and_never_after_done(  # noqa: E501
    park,
):
    park = park(title="申报截止", due_at="2026-10-08T17:00", remind=["2wd", "1wd", "0d"])
    everyone = [credit_code(1), credit_code(2)]

    assert park.tick("2026-09-28 09:00") == []  # not a rung day
    assert park.tick("2026-09-29 08:59") == []  # the right day, not yet 09:00
    (first,) = park.tick("2026-09-29 09:00")
    assert park.trigger(first).due_at == at("2026-09-29 09:00")
    assert park.sent_to(first) == everyone
    assert park.tick("2026-09-29 09:01") == []  # once
    assert park.tick("2026-09-29 15:00") == []

    # Firm 1 follows the signed link in its reminder.
    url = park.runtime.messages.deadline_done_url(park.deadline_id, enterprise_id=1)
    secrets = [park.runtime.settings.secret_key.get_secret_value()]
    token = url.rsplit("/", 1)[1]
    assert mark_done_by_token(acting(park.runtime), token, secrets=secrets)
    assert not mark_done_by_token(acting(park.runtime), token, secrets=secrets)

    (second,) = park.tick("2026-09-30 09:00")  # 1wd: the last working day before the holiday
    assert park.sent_to(second) == [credit_code(2)]
    for day in range(1, 8):  # nothing during the holiday
        assert park.tick(f"2026-10-0{day} 09:00") == []
    (third,) = park.tick("2026-10-08 09:00")  # 0d
    assert park.sent_to(third) == [credit_code(2)]
    assert park.tick("2026-10-09 09:00") == []


def test_a_done_token_for_another_purpose_or_key_is_refused(park):
    park = park(title="申报截止", due_at="2026-10-08T17:00")
    unsubscribe = park.runtime.messages.unsubscribe_url(1, "email").rsplit("/", 1)[1]
    secrets = [park.runtime.settings.secret_key.get_secret_value()]
    with pytest.raises(InputError, match="signature"):
        mark_done_by_token(acting(park.runtime), unsubscribe, secrets=secrets)
    done = park.runtime.messages.deadline_done_url(park.deadline_id, 1).rsplit("/", 1)[1]
    with pytest.raises(InputError, match="signature"):
        mark_done_by_token(acting(park.runtime), done, secrets=["another"])


def test_a_deadline_moved_by_a_week_moves_its_unsent_rungs(park):
    park = park(title="申报截止", due_at="2026-11-20T17:00", remind=["5wd", "2wd", "0d"])
    (five,) = park.tick("2026-11-13 09:00")  # 5wd before Friday 20 November
    assert len(park.sent_to(five)) == 2
    park.time_source.set(at("2026-11-18 09:00"))  # 2wd: made, but its fan-out has not run yet
    (stale,) = park.scan()

    moved = move_deadline(acting(park.runtime), park.deadline_id, at("2026-11-27 17:00"))

    assert moved.cancelled_triggers == 1
    park.fan_out_and_send(stale)  # the message still on its way does nothing
    assert park.trigger(stale).status == "cancelled" and park.sent_to(stale) == []
    assert park.tick("2026-11-20 09:00") == []  # 5wd of the new date: it already went out
    (two,) = park.tick("2026-11-25 09:00")  # 2wd before Friday 27 November
    assert len(park.sent_to(two)) == 2
    assert park.tick("2026-11-27 08:00") == []
    (zero,) = park.tick("2026-11-27 09:00")
    assert len(park.sent_to(zero)) == 2

    (row,) = report(acting(park.runtime))
    states = [(r["rung"], r["at"], r["state"]) for r in row["rungs"]]
    assert states == [
        ("5wd", "2026-11-13 09:00", "done"),
        ("2wd", "2026-11-18 09:00", "cancelled"),
        ("5wd", "2026-11-20 09:00", "due"),
        ("2wd", "2026-11-25 09:00", "done"),
        ("0d", "2026-11-27 09:00", "done"),
    ]


def test_a_cancelled_deadline_sends_nothing_more(park):
    park = park(title="申报截止", due_at="2026-11-20T17:00", remind=["2wd", "1wd"])
    park.time_source.set(at("2026-11-18 09:00"))
    (trigger_id,) = park.scan()
    queued = Enqueued()  # fanned out, queued, not yet sent
    fan_out(park.runtime.sessions, queued, trigger_id, settings=park.runtime.settings.delivery)

    changed = cancel_deadline(acting(park.runtime), park.deadline_id)

    assert changed.cancelled_deliveries == 2
    for batch in queued.batches:
        send_batch(park.runtime, batch)
    assert park.sent_to(trigger_id) == []
    assert park.tick("2026-11-19 09:00") == []
    assert park.tick("2026-11-20 09:00") == []


def test_the_default_ladder_comes_from_the_setting(park):
    park = park(title="申报截止", due_at="2026-10-08")
    (row,) = report(acting(park.runtime))
    assert row["ladder"] == ["5wd", "2wd", "1wd", "0d"]
    assert [r["at"] for r in row["rungs"]] == [
        "2026-09-23 09:00",
        "2026-09-29 09:00",
        "2026-09-30 09:00",
        "2026-10-08 09:00",
    ]


def test_the_deadlines_commands_list_move_mark_done_and_cancel(sqlite_notifier):
    notifier = sqlite_notifier  # the database makes no difference here
    notifier("enterprises", "import", notifier.file("e.csv", enterprise_csv([Firm(1)])))
    deadline = {"title": "申报截止", "due_at": "2099-12-31", "remind": ["2wd", "0d"]}
    for year in ("2099", "2100"):  # far years, worked Monday to Friday, entered as such
        notifier("calendar", "complete", year)
    notifier("policies", "publish", notifier.file("p.json", json.dumps(policy(deadlines=[deadline]))))  # noqa: E501

    (row,) = notifier.json("deadlines", "list")
    assert row["ladder"] == ["2wd", "0d"] and row["due_at"] == "2099-12-31 23:59"
    assert [r["state"] for r in row["rungs"]] == ["scheduled", "scheduled"]

    assert "now due 2100-01-07 23:59" in notifier("deadlines", "move", "1", "2100-01-07").output
    assert "marked done" in notifier("deadlines", "done", "1", credit_code(1)).output
    assert "cancelled" in notifier("deadlines", "cancel", "1").output
    (row,) = notifier.json("deadlines", "list")
    assert row["cancelled"] and row["done"] == 1 and row["due_at"] == "2100-01-07 23:59"
    assert [r["state"] for r in row["rungs"]] == ["cancelled", "cancelled"]
    assert "申报截止 (cancelled)" in notifier("deadlines", "list").output

    failed = notifier("deadlines", "move", "9", "2100-01-07", status=2)
    assert "deadline 9: no such deadline" in failed.output
    failed = notifier("deadlines", "move", "1", "soon", status=2)
    assert "NEW_DUE" in failed.output
