"""Quiet hours: an SMS that falls due at night waits, deferred and uncounted, until 08:00 local,
and is then sent; other channels go at once. The clock is moved, nothing sleeps."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notifier.domain.quiet_hours import QuietHours, Window
from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.models import Delivery, DeliveryAttempt

from factories import Enqueued, Firm, enterprise_csv, policy, send_batch

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _default_quiet_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFIER_QUIET_HOURS__SMS")


def test_an_sms_due_at_2230_waits_until_0800_and_is_then_sent(database_url, make_runtime):
    time_source = ManualTime(at("2026-11-03 22:30"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    firms = [Firm(1, channels="sms;email")]
    import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
    draft = parse_policy(policy(), zone=SHANGHAI)
    trigger_id = publish(runtime.sessions, Enqueued(), draft, time_source=time_source).trigger_id
    queued = Enqueued()
    fan_out(runtime.sessions, queued, trigger_id, settings=runtime.settings.delivery)
    (ids,) = queued.batches

    retries = send_batch(runtime, ids)

    rows = deliveries(runtime)
    assert rows["email"].status == "sent"  # email has no quiet hours
    sms = rows["sms"]
    assert sms.status == "deferred" and sms.attempts == 0
    assert sms.next_attempt_at == at("2026-11-04 08:00")
    assert [(r.delivery_id, r.delay) for r in retries] == [(sms.id, 9.5 * 3600)]

    time_source.set(at("2026-11-04 07:59"))
    send_batch(runtime, [sms.id])
    assert deliveries(runtime)["sms"].status == "deferred"

    time_source.set(at("2026-11-04 08:00"))
    send_batch(runtime, [sms.id])
    sms = deliveries(runtime)["sms"]
    assert sms.status == "sent" and sms.attempts == 1
    with runtime.sessions() as session:
        attempts = session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == sms.id)
        ).all()
        assert [a.started_at for a in attempts] == [at("2026-11-04 08:00")]


def deliveries(runtime) -> dict[str, Delivery]:
    with runtime.sessions() as session:
        return {d.channel: d for d in session.scalars(select(Delivery))}


@pytest.mark.parametrize(
    ("local", "until"),
    [
        ("2026-11-03 20:59", None),
        ("2026-11-03 21:00", "2026-11-04 08:00"),
        ("2026-11-04 00:30", "2026-11-04 08:00"),
        ("2026-11-04 07:59", "2026-11-04 08:00"),
        ("2026-11-04 08:00", None),
    ],
)
def test_the_window_runs_past_midnight_to_the_next_allowed_minute(local, until):
    quiet = QuietHours(windows={"sms": Window.parse("21:00-08:00")}, zone=SHANGHAI)
    assert quiet.until("sms", at(local)) == (at(until) if until else None)
    assert quiet.until("email", at(local)) is None


def test_a_daytime_window_and_an_empty_one():
    lunch = Window.parse("12:00-13:30")
    assert lunch.covers(at("2026-11-03 12:45").time()) and not lunch.covers(
        at("2026-11-03 13:30").time()
    )
    assert not Window.parse("08:00-08:00").covers(at("2026-11-03 08:00").time())


def test_quiet_hours_settings_are_checked_and_can_be_turned_off(make_settings):
    from notifier.errors import ConfigError

    assert make_settings().quiet_hours.sms == "21:00-08:00"
    assert make_settings(quiet_hours={"sms": ""}).quiet_hours.sms is None
    with pytest.raises(ConfigError, match="quiet_hours.sms"):
        make_settings(quiet_hours={"sms": "9pm-8am"})
