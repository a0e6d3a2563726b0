"""The working-day calendar the district maintains: a year it does not know is refused by
name (never guessed Monday to Friday) at preview, publish, revise and move, on the CLI, the API
and the console; an admin enters the State Council's notice in the console and the same ladder
then skips the holidays; the scanner reports a rung it cannot place; the dashboard warns 60 days
before the calendar runs out.

Test data for 2027 (the brief's; the real notice was not found): 元旦 1-3 January; 春节 6-13
February, worked Sunday 14 and Saturday 20 February. chinesecalendar 1.11 knows 2004-2026.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.domain.holiday_notice import read_notice
from notifier.domain.ladder import parse_rung, rung_day
from notifier.domain.time_source import ManualTime
from notifier.domain.workdays import CalendarYearUnknown, DayKind, WorkCalendar
from notifier.errors import InputError
from notifier.inputs.policy_file import parse_policy
from notifier.services.calendar.working_days import (
    enter_notice,
    load,
    mark_year,
    remove_day,
    seed,
)
from notifier.services.deadlines.operations import report
from notifier.services.deadlines.reminders import scan_due_reminders
from notifier.services.policies.publishing import publish
from notifier.store.models import AuditEntry, CalendarYear, Deadline

from support.apiclient import api_fixture  # noqa: F401 - fixtures
from support.cli import notifier_on
from support.factories import Enqueued, acting, enter_plain_years, policy
from support.forms import fields_of
from support.web_harness import COMPOSED, console_runtime, make_key, signed_in, web_app

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_TYPED = (
    "元旦 2027-01-01 至 2027-01-03\n"
    "春节 2027-02-06 至 2027-02-13，调休上班 2027-02-14、2027-02-20"
)
AS_PUBLISHED = """国务院办公厅关于2027年部分节假日安排的通知
经国务院批准，现将2027年元旦、春节放假调休日期的具体安排通知如下。
一、元旦：1月1日至3日放假，共3天。
二、春节：2月6日（农历正月初一）至13日放假调休，共8天。2月14日（周日）、2月20日（周六）上班。
国务院办公厅
2026年11月12日"""
SPRING_FESTIVAL = {date(2027, 2, 6) + timedelta(days=n) for n in range(8)}
NEW_YEAR = {date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def calendar_2027() -> WorkCalendar:
    notice = read_notice(AS_TYPED, year=2027)
    days = {d: e.kind for d, e in notice.days.items()}
    return WorkCalendar(frozenset({2026, 2027}), days)


# --- the rules, pure ---------------------------------------------------------------------------


def test_a_year_the_calendar_does_not_know_is_refused_by_name_not_guessed():
    without = WorkCalendar(frozenset({2026}))
    with pytest.raises(CalendarYearUnknown, match="2027 年的工作日历尚未录入") as refused:
        rung_day(date(2027, 2, 9), parse_rung("1wd"), without)
    assert refused.value.year == 2027 and "working-day calendar for 2027" in str(refused.value)
    # Calendar days and the due day itself need no working-day calendar.
    assert rung_day(date(2027, 2, 9), parse_rung("3d"), without) == date(2027, 2, 6)
    assert rung_day(date(2027, 2, 9), parse_rung("0wd"), without) == date(2027, 2, 9)


def test_with_2027_entered_the_rungs_skip_the_spring_festival_and_new_year():
    calendar = calendar_2027()
    # Due Monday 15 February: 1wd is the Sunday worked instead, 2wd jumps the whole holiday.
    due = date(2027, 2, 15)
    assert rung_day(due, parse_rung("1wd"), calendar) == date(2027, 2, 14)
    assert rung_day(due, parse_rung("2wd"), calendar) == date(2027, 2, 5)
    # Due 9 February (in the holiday): Monday to Friday gave 8 February (正月初三).
    assert rung_day(date(2027, 2, 9), parse_rung("1wd"), calendar) not in SPRING_FESTIVAL
    # Due Monday 4 January: 1wd is the last working day of 2026, not 元旦.
    assert rung_day(date(2027, 1, 4), parse_rung("1wd"), calendar) == date(2026, 12, 31)


def test_the_notice_as_published_and_as_typed_name_the_same_days():
    typed = read_notice(AS_TYPED, year=2027)
    published = read_notice(AS_PUBLISHED, year=2027)
    assert {d: (e.kind, e.name) for d, e in typed.days.items()} == {
        d: (e.kind, e.name) for d, e in published.days.items()
    }
    holidays = {d for d, e in typed.days.items() if e.kind is DayKind.HOLIDAY}
    assert holidays == SPRING_FESTIVAL | NEW_YEAR
    worked = {d for d, e in typed.days.items() if e.kind is DayKind.WORKDAY}
    assert worked == {date(2027, 2, 14), date(2027, 2, 20)}
    assert typed.days[date(2027, 2, 14)].name == "春节"
    assert published.skipped == [1, 2, 5, 6]  # title, preamble, signature and its date


def test_a_bad_notice_names_every_bad_line_at_once():
    text = "\n".join(
        [
            "春节 2027-02-06 至 2027-02-13，调休上班 2027-02-15",  # a Monday
            "2027-05-01 至 2027-05-05",  # no name
            "国庆节 2027-10-01 至 2027-12-08",  # a slip: two months
            "中秋节 2027-02-30",  # no such day
            "端午节 2027-06-12，2027-06-12 上班",  # off and worked
            "清明节\x00 2027-04-05",  # a NUL, which PostgreSQL refuses
        ]
    )
    with pytest.raises(InputError) as refused:
        read_notice(text, year=2027)
    message = str(refused.value)
    for expected in (
        "第 1 行 line 1: 2027-02-15 是周一",
        "第 2 行 line 2: 缺少节日名称",
        "第 3 行 line 3: 2027-10-01 至 2027-12-08",
        "第 4 行 line 4: “2027-02-30” 不是有效日期",
        "第 5 行 line 5: 2027-06-12 在第 5 行已是放假",
        "第 6 行 line 6: 含有控制字符 / holds a control character (U+0000 at position 4)",
    ):
        assert expected in message, message


# --- the store: seeding ------------------------------------------------------------------------


def test_seeding_is_idempotent_and_keeps_admins_edits(database_url, make_runtime):
    runtime = make_runtime(database_url=database_url)
    time_source = runtime.time_source
    first = seed(runtime.sessions, time_source=time_source)
    assert first[0] == 2004 and first[-1] == 2026
    calendar = load(runtime.sessions, time_source=time_source)
    assert not calendar.is_working_day(date(2026, 10, 5))  # National Day
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday worked
    # An admin decides a seeded day is not a holiday after all; seeding again keeps that.
    assert remove_day(acting(runtime), date(2026, 10, 5))
    assert seed(runtime.sessions, time_source=time_source) == []
    assert load(runtime.sessions, time_source=time_source).is_working_day(date(2026, 10, 5))
    with runtime.sessions() as session:
        row = session.get(CalendarYear, 2026)
        assert row is not None and row.complete and row.source.startswith("chinesecalendar")


# --- the acceptance: refused until entered in the console, then the holidays are skipped ------


@pytest.fixture
def console(make_runtime, tmp_path: Path):
    """The console on SQLite at 7 December 2026 (a clock that stands still), an admin signed in."""
    time_source = ManualTime(at("2026-12-07 10:00"))

    def make(**settings):
        return make_runtime(time_source=time_source, **settings)

    runtime = console_runtime(make, tmp_path)
    client = TestClient(web_app(runtime))
    csrf = signed_in(client, make_key(runtime, "admin"))
    return runtime, client, csrf


def _rung_days(runtime, title: str) -> dict[str, date]:
    rows = report(acting(runtime))
    (row,) = [r for r in rows if r["title"] == title]
    return {r["rung"]: date.fromisoformat(r["at"][:10]) for r in row["rungs"]}


def test_a_2027_ladder_is_refused_until_the_notice_is_entered_in_the_console(console):
    runtime, client, csrf = console
    composed = {**COMPOSED, "deadline_title": "春节前申报", "deadline_due": "2027-02-09T17:00"}

    preview = client.post("/console/policies/preview", data={**composed, "csrf": csrf}).json()
    assert not preview["ok"] and "2027 年的工作日历尚未录入" in preview["error"]
    refused = client.post("/console/policies", data={**composed, "csrf": csrf})
    assert refused.status_code == 400
    assert "deadlines[0].due_at: 2027 年的工作日历尚未录入" in refused.text
    assert "working-day calendar for 2027 is not entered yet" in refused.text
    assert "calendar-warning" in client.get("/console/").text  # 2026 ends in 24 days

    page = client.get("/console/calendar")
    assert page.status_code == 200 and 'value="2027"' in page.text  # the year to enter
    notice = {"year": "2027", "notice": AS_TYPED, "complete": "1", "csrf": csrf}
    shown = client.post("/console/calendar/notice", data={**notice, "action": "preview"})
    assert shown.status_code == 200 and "notice-preview" in shown.text
    assert "2027-02-14" in shown.text
    with pytest.raises(CalendarYearUnknown):  # a preview stores nothing
        load(runtime.sessions, time_source=runtime.time_source).is_working_day(date(2027, 2, 1))
    saved = client.post(
        "/console/calendar/notice", data={**notice, "action": "save"}, follow_redirects=False
    )
    assert saved.status_code == 303
    listed = client.get(saved.headers["location"]).text
    assert 'id="day-2027-02-20"' in listed and 'id="calendar-note"' in listed
    assert "calendar-warning" not in client.get("/console/").text

    published = client.post("/console/policies", data={**composed, "csrf": csrf},
                            follow_redirects=False)
    assert published.status_code == 303, published.text[-800:]
    rungs = _rung_days(runtime, "春节前申报")
    # Monday to Friday put 1wd on 8 February (正月初三): now every rung is before the holiday.
    assert rungs["1wd"] == date(2027, 2, 5) and rungs["2wd"] == date(2027, 2, 4)
    assert rungs["5wd"] == date(2027, 2, 1)

    # 除夕 is a statutory holiday since 2025; the brief's schedule leaves it out: an admin adds it.
    added = client.post(
        "/console/calendar/days",
        data={"date": "2027-02-05", "kind": "holiday", "name": "春节（除夕）", "csrf": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    rungs = _rung_days(runtime, "春节前申报")
    assert rungs["1wd"] == date(2027, 2, 4) and rungs["2wd"] == date(2027, 2, 3)
    assert not set(rungs.values()) & (SPRING_FESTIVAL | {date(2027, 2, 5)}) - {date(2027, 2, 9)}

    new_year = {**composed, "title": "元旦后申报", "deadline_title": "元旦后申报",
                "deadline_due": "2027-01-04T17:00"}
    assert client.post("/console/policies", data={**new_year, "csrf": csrf},
                       follow_redirects=False).status_code == 303
    assert _rung_days(runtime, "元旦后申报")["1wd"] == date(2026, 12, 31)  # not 元旦

    with runtime.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_type == "calendar", AuditEntry.actor_prefix.startswith("ntf_"))))
        (row,) = session.scalars(select(CalendarYear).where(CalendarYear.year == 2027))
        assert row.complete and row.source == "console" and row.entered_by.startswith("ntf_")
    assert actions == ["calendar.notice", "calendar.day.set"]


def test_the_calendar_page_refuses_bad_input_with_the_field_and_keeps_the_form(console):
    runtime, client, csrf = console
    bad = client.post(
        "/console/calendar/notice",
        data={"year": "2027", "notice": "春节 2027-02-06 至 2027-02-13，调休上班 2027-02-15",
              "complete": "1", "action": "save", "csrf": csrf},
    )
    assert bad.status_code == 400 and "2027-02-15 是周一" in bad.text
    assert "2027-02-13，调休上班 2027-02-15</textarea>" in bad.text
    for form in (
        {"date": "2027-13-01", "kind": "holiday"},
        {"date": "2027-02-15", "kind": "workday"},
        {"date": "2027-02-15", "kind": "day off"},
        {"date": "2027-02-15\x00", "kind": "holiday"},
        {"date": "2027-02-15", "kind": "holiday", "name": "春节\x00"},
        {"date": "2027-02-15", "kind": "holiday", "name": "春" * 51},
    ):
        answer = client.post("/console/calendar/days", data={**form, "csrf": csrf})
        assert answer.status_code == 400 and "calendar-error" in answer.text, form
    assert client.get("/console/calendar?year=99999").status_code == 400
    assert client.post("/console/calendar/years/abc", data={"csrf": csrf}).status_code == 400
    assert client.post("/console/calendar/days/x/remove", data={"csrf": csrf}).status_code == 400
    # Staff may not change it, and a form without the CSRF value changes nothing.
    staff = TestClient(web_app(runtime))
    staff_csrf = signed_in(staff, make_key(runtime, "staff"))
    assert staff.get("/console/calendar").status_code == 403
    assert staff.post("/console/calendar/years/2027",
                      data={"complete": "1", "csrf": staff_csrf}).status_code == 403
    assert client.post("/console/calendar/years/2027", data={"complete": "1"}).status_code == 403
    with pytest.raises(CalendarYearUnknown):
        load(runtime.sessions, time_source=runtime.time_source).is_working_day(date(2027, 3, 1))


def test_the_console_revise_refuses_a_ladder_in_an_unknown_year(console):
    runtime, client, csrf = console
    due = {"title": "申报截止", "due_at": "2026-12-30T17:00", "remind": ["1wd"]}
    draft = parse_policy(policy(ref="p1", deadlines=[due]), zone=SHANGHAI)
    made = publish(runtime.sessions, Enqueued(), draft, time_source=runtime.time_source)
    path = f"/console/policies/{made.policy_id}/correct"
    sent = fields_of(client.get(path).text)
    sent["deadline_due"][0] = "2098-02-09T17:00"
    answer = client.post(path, data=sent)
    if answer.status_code == 200:  # the changes shown side by side; saving them is refused
        answer = client.post(path, data=fields_of(answer.text))
    assert answer.status_code == 400
    assert "2098 年的工作日历尚未录入" in answer.text


def test_the_dashboard_warns_60_days_before_the_calendar_runs_out(console):
    runtime, _, _ = console
    key = make_key(runtime, "admin")

    def dashboard_at(when: str) -> str:
        runtime.time_source.set(at(when))
        # A session lasts 8 hours by the deployment's time_source: sign in anew at each time.
        with TestClient(web_app(runtime)) as fresh:
            signed_in(fresh, key)
            return fresh.get("/console/").text

    assert "calendar-warning" not in dashboard_at("2026-10-31 10:00")  # 61 days before the end
    warned = dashboard_at("2026-11-01 10:00")  # 60 days
    assert "calendar-warning" in warned and "2026-12-31" in warned and "还剩 60 天" in warned
    assert 'href="/console/calendar?year=2027"' in warned
    ran_out = dashboard_at("2027-01-02 10:00")
    assert "2027 年的工作日历尚未录入" in ran_out, ran_out[-3000:]
    mark_year(acting(runtime), 2027, complete=True)
    assert "calendar-warning" not in dashboard_at("2027-01-02 10:05")


def test_the_scanner_reports_a_rung_it_cannot_place_and_places_it_once_entered(
    console, caplog
):
    runtime, _, _ = console
    enter_notice(acting(runtime), read_notice(AS_TYPED, year=2027), complete=True)
    draft = parse_policy(
        policy(ref="p1", published_at="2026-12-07T09:00",
               deadlines=[{"title": "申报截止", "due_at": "2027-02-09T17:00",
                           "remind": ["5wd", "0d"]}]),
        zone=SHANGHAI,
    )
    publish(runtime.sessions, Enqueued(), draft, time_source=runtime.time_source)
    # An admin finds the schedule wrong and takes 2027 back while correcting it.
    mark_year(acting(runtime), 2027, complete=False)
    runtime.time_source.set(at("2027-02-01 09:00"))  # when 5wd falls
    settings = runtime.settings

    def scan() -> list[int]:
        return scan_due_reminders(
            runtime.sessions, Enqueued(), settings=settings.reminders, zone=settings.zone,
            catch_up=timedelta(hours=6), time_source=runtime.time_source,
        )

    with caplog.at_level(logging.WARNING, logger="notifier.services.deadlines.reminders"):
        assert scan() == []
    assert "working-day calendar for 2027 is not entered yet" in caplog.text
    with runtime.sessions() as session:
        deadline_id = session.scalar(select(Deadline.id))
    assert f"{deadline_id}:5wd" in caplog.text
    states = {r["rung"]: r["state"] for r in report(acting(runtime))[0]["rungs"]}
    assert states == {"5wd": "no_calendar", "0d": "scheduled"}
    mark_year(acting(runtime), 2027, complete=True)
    assert len(scan()) == 1  # the 5wd rung, on Monday 1 February


# --- the API and the CLI refuse the same way --------------------------------------------------


def test_the_api_refuses_preview_publish_revise_and_move_naming_the_year(api):
    # 2098: a year no one has entered, far enough that the real clock never reaches it.
    later = {"title": "申报截止", "due_at": "2098-03-02", "remind": ["2wd", "0d"]}
    body = json.dumps(policy(ref="p1", deadlines=[later])).encode()
    for path in ("/api/v1/policies/preview", "/api/v1/policies"):
        answer = api.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert "2098 年的工作日历尚未录入" in answer.text and "deadlines[0].due_at" in answer.text
    calendar_days = {"title": "申报截止", "due_at": "2098-03-02", "remind": ["3d", "0d"]}
    body = json.dumps(policy(ref="p1", deadlines=[calendar_days])).encode()
    made = api.post("/api/v1/policies", content=body,
                    headers={"Content-Type": "application/json"}).json()
    revised = json.dumps(policy(ref="p1", deadlines=[later])).encode()
    answer = api.post(f"/api/v1/policies/{made['id']}/revise", content=revised,
                      headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "2098 年的工作日历尚未录入" in answer.text
    (deadline,) = api.get("/api/v1/deadlines").json()
    assert deadline["due_at"].startswith("2098-03-02")  # the revision changed nothing

    enter_plain_years(api.runtime, 2099)
    known = {"title": "另一个截止", "due_at": "2099-03-02", "remind": ["2wd"]}
    body = json.dumps(policy(ref="p2", title="另一个", deadlines=[known])).encode()
    assert api.post("/api/v1/policies", content=body,
                    headers={"Content-Type": "application/json"}).status_code == 200
    moved_id = next(d["id"] for d in api.get("/api/v1/deadlines").json()
                    if d["title"] == "另一个截止")
    answer = api.post(f"/api/v1/deadlines/{moved_id}/move", json={"due_at": "2098-04-01"})
    assert answer.status_code == 400 and "due_at: 2098 年的工作日历尚未录入" in answer.text


def test_the_calendar_commands_and_the_cli_refusal(database_url, tmp_path):
    notifier = notifier_on(database_url, tmp_path)
    assert "years seeded (2004-2026)" in notifier("db", "upgrade").output
    listed = notifier.json("calendar", "list")
    assert listed[-1]["year"] == 2026 and listed[-1]["complete"]
    due = {"title": "申报截止", "due_at": "2027-02-09T17:00", "remind": ["1wd"]}
    file = notifier.file("p.json", json.dumps(policy(ref="p1", deadlines=[due])))
    for command in (("policies", "preview", file), ("policies", "publish", file)):
        failed = notifier(*command, status=2)
        assert "2027 年的工作日历尚未录入" in failed.output and "Traceback" not in failed.output

    notice = notifier.file("2027.txt", AS_PUBLISHED)
    dry = notifier.json("calendar", "import", notice, "--dry-run")
    assert dry["year"] == 2027 and len(dry["days"]) == 13
    assert notifier.json("calendar", "list")[-1]["year"] == 2026  # the dry run stored nothing
    notifier("calendar", "import", notice)
    days = notifier.json("calendar", "list", "2027")
    assert [d["date"] for d in days if d["kind"] == "workday"] == ["2027-02-14", "2027-02-20"]
    notifier("calendar", "set", "2027-02-05", "holiday", "--name", "除夕")
    refused = notifier("calendar", "set", "2027-02-15", "workday", status=2)
    assert "is a weekday" in refused.output
    assert "2027-02-05" in notifier("calendar", "list", "2027").output
    published = notifier.json("policies", "publish", file)
    (row,) = notifier.json("deadlines", "list")
    assert row["rungs"][0]["at"].startswith("2027-02-04")  # 除夕 and the festival skipped
    far = {**due, "due_at": "2098-02-09T17:00"}
    revised = notifier.file("r.json", json.dumps(policy(ref="p1", deadlines=[far])))
    failed = notifier("policies", "revise", revised, status=2)
    assert "deadlines[0].due_at: 2098 年的工作日历尚未录入" in failed.output
    notifier("calendar", "complete", "2027", "--undo")
    assert not notifier.json("calendar", "list")[-1]["complete"]
    assert published["created"]
