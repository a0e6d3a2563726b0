"""Campaigns on a clock the tests move: a weekly cron sends one run a week to that day's
audience (once, even with two clocks side by side on PostgreSQL); pausing stops the sends at
once and resuming finishes them; cancelling leaves every unsent delivery ``cancelled``; the
throttle spreads the batches; the campaign file is read strictly; the commands work."""

from __future__ import annotations

import io
import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import _truncate_postgres
from sqlalchemy import func, select

from notifier.domain.time_source import ManualTime
from notifier.errors import InputError, TemplateError
from notifier.inputs.campaign_file import parse_campaign, read_credit_codes
from notifier.jobs.clock import scan_campaign_runs
from notifier.services.campaigns.operations import cancel, create_campaign, pause, resume
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.pacing import Pace
from notifier.services.delivery.progress import campaign_runs
from notifier.services.enterprises.importing import import_enterprises
from notifier.store.models import Campaign, Delivery, Trigger

from support.cli import Notifier, assert_one_line_error
from support.factories import Enqueued, Firm, acting, credit_code, enterprise_csv, send_batch
from support.paths import REPO

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A local time in Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def campaign_file(**fields) -> dict:
    """A campaign as a file holds it; ``fields`` override the defaults."""
    data = {
        "name": "tech-upgrade",
        "title": "技术改造补助申报提醒",
        "channels": ["短信"],
        "targets": {"sectors": ["C36"]},
        "templates": {
            "sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}，{{ run.date }}"}
        },
        "schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Shanghai"},
    }
    data.update(fields)
    return data


class Park:
    """Enterprises, a campaign, a clock the test moves, and the pipeline run by hand."""

    def __init__(self, runtime, time_source: ManualTime, firms: list[Firm], **fields) -> None:
        self.runtime, self.time_source = runtime, time_source
        self.add(firms)
        draft = parse_campaign(campaign_file(**fields), zone=SHANGHAI, now=time_source.now())
        self.campaign_id = create_campaign(acting(runtime), draft)

    def add(self, firms: list[Firm]) -> None:
        csv_text = enterprise_csv(firms)
        import_enterprises(self.runtime.sessions, io.StringIO(csv_text), dry_run=False)

    def scan(self, runtime=None) -> list[int]:
        return scan_campaign_runs(runtime or self.runtime)

    def fan_out(self, trigger_id: int, dispatch: Enqueued) -> None:
        runtime = self.runtime
        fan_out(runtime.sessions, dispatch, trigger_id, settings=runtime.settings.delivery)

    def fan_out_and_send(self, trigger_id: int) -> None:
        self.fan_out(trigger_id, Enqueued(on_batch=lambda ids: send_batch(self.runtime, ids)))

    def deliveries(self, trigger_id: int | None = None) -> list[Delivery]:
        with self.runtime.sessions() as session:
            query = select(Delivery).order_by(Delivery.id)
            if trigger_id is not None:
                query = query.where(Delivery.trigger_id == trigger_id)
            rows = list(session.scalars(query))
            for row in rows:
                _ = row.enterprise.credit_code
            return rows

    def status(self) -> str:
        with self.runtime.sessions() as session:
            return session.get(Campaign, self.campaign_id).status


# --- the schedule on the clock -----------------------------------------------------------------


def test_a_weekly_cron_over_four_weeks_sends_four_runs_each_to_that_days_audience_once_with_two_clocks(  # noqa: E501
    postgres_database, make_runtime
):
    _truncate_postgres(postgres_database)
    time_source = ManualTime(at("2026-11-29 12:00"))  # a Sunday
    first = make_runtime(database_url=postgres_database, time_source=time_source)
    second = make_runtime(database_url=postgres_database, time_source=time_source)
    park = Park(first, time_source, [Firm(1, channels="sms"), Firm(2, channels="sms")])
    fired: list[int] = []
    for week in range(4):
        park.add([Firm(10 + week, channels="sms")])  # the audience grows by one each week
        monday = at("2026-11-30 09:00") + timedelta(weeks=week)
        for moment in (monday - timedelta(hours=1), monday + timedelta(seconds=30),
                       monday + timedelta(days=3)):
            time_source.set(moment)
            made: list[int] = []
            start = threading.Barrier(2)
            threads = [
                threading.Thread(target=_scan_after, args=(start, r, made)) for r in (first, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for trigger_id in made:
                park.fan_out_and_send(trigger_id)
            fired.extend(made)

    assert len(fired) == len(set(fired)) == 4
    with first.sessions() as session:
        runs = session.scalars(select(Trigger).order_by(Trigger.due_at)).all()
        assert [r.due_at for r in runs] == [
            at("2026-11-30 09:00") + timedelta(weeks=w) for w in range(4)
        ]
        assert [r.recipients for r in runs] == [3, 4, 5, 6]
        assert session.scalar(select(func.count()).select_from(Delivery)) == 3 + 4 + 5 + 6
        pairs = session.execute(select(Delivery.trigger_id, Delivery.enterprise_id)).all()
        assert len(pairs) == len(set(pairs))  # nobody twice in a run
    week_three = park.deliveries(runs[2].id)
    assert {d.enterprise.credit_code for d in week_three} == {
        credit_code(n) for n in (1, 2, 10, 11, 12)
    }
    assert all(d.status == "sent" for d in park.deliveries())


def _scan_after(start: threading.Barrier, runtime, made: list[int]) -> None:
    start.wait()
    made.extend(scan_campaign_runs(runtime))


def test_a_once_campaign_runs_once_with_its_pinned_template_and_then_is_finished(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-12-01 08:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, [Firm(1, channels="sms"), Firm(2, channels="email")],
                schedule={"once_at": "2026-12-01T10:00"})
    assert park.scan() == []
    time_source.set(at("2026-12-01 10:00"))
    (run,) = park.scan()
    assert park.scan() == []
    park.fan_out_and_send(run)
    (delivery,) = park.deliveries(run)  # only the campaign's channel: sms
    assert delivery.status == "sent"
    outbox = list((runtime.settings.outbox_dir / "sms").glob("*.json"))
    text = json.loads(outbox[0].read_text("utf-8"))["text"]
    assert "测试企业1有限公司：技术改造补助申报提醒，2026-12-01" in text
    with runtime.sessions() as session:  # a run concerns no one policy: no firm's page
        context = runtime.messages.context(session.get(Delivery, delivery.id))
    assert "page_url" not in context and "page_token" not in context and "/p/" not in text
    with runtime.sessions() as session:
        pinned = session.get(Trigger, run).templates
        assert pinned["sms"]["version"] == 1 and pinned["sms"]["name"] == "tech-upgrade"
    park.scan()
    assert park.status() == "finished"


def test_a_once_campaign_created_for_a_moment_just_past_goes_out_at_the_next_scan(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-12-01 10:05"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, [Firm(1, channels="sms")],
                schedule={"once_at": "2026-12-01T10:00"})
    (run,) = park.scan()
    with runtime.sessions() as session:
        assert session.get(Trigger, run).due_at == at("2026-12-01 10:00")


def test_the_readme_example_files_are_valid():
    from notifier.inputs.campaign_file import read_campaign_file

    examples = REPO / "docs" / "examples"
    now = at("2026-11-25 18:00")
    weekly = read_campaign_file(examples / "campaign.json", zone=SHANGHAI, now=now)
    assert weekly.cron == "0 9 * * MON" and weekly.channels == ("sms", "email")
    assert weekly.targets.sizes == ("medium", "small")
    listed = read_campaign_file(examples / "campaign-listed.json", zone=SHANGHAI, now=now)
    assert listed.targets.credit_codes == (credit_code(1), credit_code(2))
    assert listed.templates == {"sms": "2026-tech-upgrade"} and not listed.inline_templates


def test_runs_missed_beyond_the_catch_up_window_are_recorded_missed_and_the_newest_fires(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-11-29 12:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, [Firm(1, channels="sms")])
    time_source.set(at("2026-12-14 11:00"))  # down over three Mondays; the last was 2 hours ago
    (fired,) = park.scan()
    with runtime.sessions() as session:
        runs = session.scalars(select(Trigger).order_by(Trigger.due_at)).all()
        assert [(r.due_at, r.status) for r in runs] == [
            (at("2026-11-30 09:00"), "missed"),
            (at("2026-12-07 09:00"), "missed"),
            (at("2026-12-14 09:00"), "pending"),
        ]
        assert runs[2].id == fired
    time_source.set(at("2026-12-21 16:00"))  # 7 hours late: past the 6-hour window
    assert park.scan() == []
    with runtime.sessions() as session:
        late = session.scalar(select(Trigger).where(Trigger.due_at == at("2026-12-21 09:00")))
        assert late.status == "missed" and "catch_up_hours" in late.error


def test_a_cron_campaign_makes_no_run_after_its_end(database_url, make_runtime):
    time_source = ManualTime(at("2026-11-29 12:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    schedule = {"cron": "0 9 * * MON", "ends_at": "2026-12-01"}
    park = Park(runtime, time_source, [Firm(1, channels="sms")], schedule=schedule)
    time_source.set(at("2026-11-30 09:00"))
    (run,) = park.scan()
    park.fan_out_and_send(run)
    time_source.set(at("2026-12-07 09:00"))
    assert park.scan() == []
    assert park.status() == "finished"


# --- pause, resume, cancel ---------------------------------------------------------------------


class PausingProviders:
    """The runtime's providers, with ``action`` run after the ``after``-th send (staff acting
    while a batch is being sent)."""

    def __init__(self, providers, after: int, action) -> None:
        self.inner, self.after, self.action, self.sent = providers, after, action, 0

    def for_channel(self, channel: str):
        return [_Counting(p, self) for p in self.inner.for_channel(channel)]


class _Counting:
    def __init__(self, provider, owner: PausingProviders) -> None:
        self.provider, self.owner = provider, owner

    def __getattr__(self, name):
        # Name, policy, compose_message...: the wrapped provider's; only send is counted.
        return getattr(self.provider, name)

    def compose(self, text, *, to):
        return self.provider.compose(text, to=to)

    def send(self, message):
        result = self.provider.send(message)
        self.owner.sent += 1
        if self.owner.sent == self.owner.after:
            self.owner.action()
        return result


def _send_with(park: Park, ids: list[int], providers) -> None:
    from notifier.services.delivery.sending import deliver_batch

    runtime = park.runtime
    deliver_batch(runtime.sessions, ids, providers=providers, messages=runtime.messages,
                  settings=runtime.settings.delivery, time_source=runtime.time_source)


def _started(database_url, make_runtime, firms: int = 6) -> tuple[Park, list[int]]:
    time_source = ManualTime(at("2026-12-01 08:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, [Firm(n, channels="sms") for n in range(1, firms + 1)],
                schedule={"once_at": "2026-12-01T09:00"})
    time_source.set(at("2026-12-01 09:00"))
    (run,) = park.scan()
    queued = Enqueued()
    park.fan_out(run, queued)
    return park, [i for batch in queued.batches for i in batch]


def test_pausing_mid_run_stops_the_sends_at_once_and_resuming_finishes_the_rest(
    database_url, make_runtime
):
    park, ids = _started(database_url, make_runtime)
    runtime = park.runtime
    staff = PausingProviders(
        runtime.providers, 2, lambda: pause(acting(runtime), park.campaign_id)
    )
    _send_with(park, ids, staff)  # one batch: the pause comes after its 2nd send

    assert staff.sent == 2
    statuses = [d.status for d in park.deliveries()]
    assert statuses.count("sent") == 2 and statuses.count("deferred") == 4
    held = [d for d in park.deliveries() if d.status == "deferred"]
    assert all(d.attempts == 0 and "paused" in d.last_error for d in held)
    _send_with(park, ids, runtime.providers)  # a duplicate message sends nothing either
    assert [d.status for d in park.deliveries()].count("sent") == 2

    dispatch = Enqueued(on_batch=lambda batch: send_batch(runtime, batch))
    changed = resume(acting(runtime, dispatch), park.campaign_id)
    assert changed.deliveries == 4
    assert [d.status for d in park.deliveries()] == ["sent"] * 6
    park.scan()
    assert park.status() == "finished"


def test_cancelling_leaves_every_unsent_delivery_cancelled_and_no_run_after(
    database_url, make_runtime
):
    park, ids = _started(database_url, make_runtime)
    runtime = park.runtime
    staff = PausingProviders(
        runtime.providers, 3, lambda: cancel(acting(runtime), park.campaign_id)
    )
    _send_with(park, ids, staff)
    statuses = [d.status for d in park.deliveries()]
    assert statuses.count("sent") == 3 and statuses.count("cancelled") == 3
    _send_with(park, ids, runtime.providers)
    assert [d.status for d in park.deliveries()].count("sent") == 3
    park.time_source.set(at("2026-12-08 09:00"))
    assert park.scan() == []
    assert park.status() == "cancelled"


def test_progress_counts_each_run_by_status_with_rate_and_eta(database_url, make_runtime):
    park, ids = _started(database_url, make_runtime)
    pause(acting(park.runtime), park.campaign_id)
    (run,) = campaign_runs(park.runtime.sessions, park.campaign_id, now=park.time_source.now())
    assert run.counts == {"deferred": 6} and run.left == 6 and run.eta_seconds is None


# --- throttle ----------------------------------------------------------------------------------


class Recording:
    """A Dispatch port that keeps each batch with its delay."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[int], float | None]] = []

    def fan_out(self, trigger_id: int) -> None:
        pass

    def deliveries(self, delivery_ids, *, delay=None) -> None:
        self.batches.append((list(delivery_ids), delay))


def test_a_throttled_campaign_is_queued_in_batches_spread_to_its_rate(database_url, make_runtime):
    time_source = ManualTime(at("2026-12-01 08:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, [Firm(n, channels="sms") for n in range(1, 11)],
                schedule={"once_at": "2026-12-01T09:00"}, throttle_per_minute=120)
    time_source.set(at("2026-12-01 09:00"))
    (run,) = park.scan()
    recording = Recording()
    park.fan_out(run, recording)
    assert [len(ids) for ids, _ in recording.batches] == [2] * 5
    assert [delay for _, delay in recording.batches] == [None, 1.0, 2.0, 3.0, 4.0]
    # In any minute at most 120: the n-th delivery goes no earlier than n/120 minutes in.
    recording = Recording()
    Pace(runtime.sessions, 200, 10).dispatch(recording, list(range(1, 31)))
    delays = [delay or 0.0 for _, delay in recording.batches]
    assert sum(1 for d in delays if d < 60) == 10


# --- the campaign file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"chanels": ["sms"]}, "did you mean 'channels'"),
        ({"schedule": {"cron": "0 9 * * XYZ"}}, "定时 cron: '0 9 * * XYZ'"),
        ({"schedule": {"cron": "0 9 * *"}}, "must have 5 fields"),
        ({"schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Beijing"}}, "unknown time zone"),
        ({"schedule": {"once_at": "2026-12-05T09:00", "ends_at": "2026-12-01"}}, "not after"),
        ({"schedule": {"once_at": "2026-12-05T09:00", "cron": "0 9 * * MON"}}, "one of them"),
        ({"channels": ["传真"]}, "is not one of sms"),
        ({"throttle_per_minute": 0}, "throttle_per_minute"),
        ({"templates": {}}, "templates.sms: is required"),
    ],
)
def test_a_bad_campaign_file_is_refused_naming_the_field(fields, needle):
    with pytest.raises(InputError) as error:
        parse_campaign(campaign_file(**fields), zone=SHANGHAI, now=at("2026-11-29 12:00"))
    assert needle in str(error.value)


def test_a_credit_code_file_reports_every_bad_line_by_number():
    header, second = "统一社会信用代码", f"{credit_code(3)},某公司"
    text = "\n".join([header, credit_code(1), "91330206MA2000002X", "", second, "abc"])
    with pytest.raises(InputError) as error:
        read_credit_codes(text.encode("utf-8-sig"))
    assert "line 3:" in str(error.value) and "line 6:" in str(error.value)
    good = f"{credit_code(1)}\n{credit_code(3)}\n{credit_code(1)}\n".encode()
    assert read_credit_codes(good) == (credit_code(1), credit_code(3))


def test_an_unknown_template_variable_refuses_the_campaign_and_stores_nothing(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-11-29 12:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    bad = {"sms": {"body": "{{ enterprise.nmae }}"}}
    draft = parse_campaign(campaign_file(templates=bad), zone=SHANGHAI, now=time_source.now())
    with pytest.raises(TemplateError, match="enterprise.name"):
        create_campaign(acting(runtime), draft)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


# --- the command -------------------------------------------------------------------------------


def _with_campaign(notifier: Notifier) -> str:
    firms = enterprise_csv([Firm(1), Firm(2, sectors="C3611")])
    notifier("enterprises", "import", notifier.file("firms.csv", firms))
    notifier.file("codes.txt", f"{credit_code(1)}\n")
    data = campaign_file(
        channels=["sms", "email"],
        targets={},
        credit_codes_file="codes.txt",
        templates={
            "sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}"},
            "email": {"subject": "{{ campaign.title }}", "body": "您好，{{ enterprise.name }}"},
        },
        schedule={"once_at": "2099-01-01T09:00"},
    )
    return notifier.file("campaign.json", json.dumps(data, ensure_ascii=False))


def test_campaign_commands_create_list_show_preview_test_send_pause_resume_cancel_watch(
    notifier,
):
    path = _with_campaign(notifier)
    assert "campaign 1 created" in notifier("campaigns", "create", path).stdout
    (row,) = notifier.json("campaigns", "list")
    assert row["status"] == "scheduled" and row["audience"] == {"credit_codes": [credit_code(1)]}
    assert row["templates"] == {"sms": "tech-upgrade", "email": "tech-upgrade"}
    shown = notifier.json("campaigns", "show", "1")
    assert shown["runs"] == []

    preview = notifier.json("campaigns", "preview", "1", "--enterprise", credit_code(1))
    assert preview["sms"]["text"].startswith("【北仑企服】测试企业1有限公司：")
    assert preview["sms"]["sms_parts"] == 1
    assert preview["email"]["subject"] == "技术改造补助申报提醒"

    sent = notifier("campaigns", "test-send", "1", "--to", "13800001111").stdout
    assert "test message sent to 13800001111" in sent
    assert notifier.json("deliveries", "list") == []  # nothing recorded as a delivery

    assert "paused" in notifier("campaigns", "pause", "1").stdout
    assert "scheduled" in notifier("campaigns", "resume", "1").stdout  # it has not run yet
    assert "cancelled" in notifier("campaigns", "cancel", "1").stdout
    assert "nothing is running" in notifier("campaigns", "watch", "1").stdout
    assert_one_line_error(notifier("campaigns", "pause", "1", status=2), "cancelled")
    assert_one_line_error(notifier("campaigns", "show", "9", status=2), "no such campaign")


def test_creating_a_campaign_with_a_bad_file_is_one_line_naming_the_field(notifier):
    path = _with_campaign(notifier)
    data = json.loads(Path(path).read_text("utf-8"))
    data["schedule"] = {"cron": "0 9 * * MON", "timezone": "Mars/Olympus"}
    bad = notifier.file("bad.json", json.dumps(data))
    assert_one_line_error(notifier("campaigns", "create", bad, status=2), "timezone")
    data["templates"]["sms"] = {"body": "{{ secret }}"}
    data["schedule"] = {"once_at": "2099-01-01T09:00"}
    bad = notifier.file("bad.json", json.dumps(data))
    assert_one_line_error(notifier("campaigns", "create", bad, status=2), "unknown variable")
    assert notifier.json("campaigns", "list") == []
