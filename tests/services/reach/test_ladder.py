"""Reach ladders: N working days after a policy went out, the firms that have not opened its
page get it once more, on the channel it was tried on least (SMS first among equals), and
nobody else does;
a second clock run sends nothing more; an unsubscribed channel is never used; quiet hours hold
the re-send like any message."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notifier.domain.reach import ReachState
from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.clock import JOBS, send_reach_ladders
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.services.reach import events
from notifier.store import enterprises as enterprise_store
from notifier.store import reach_states
from notifier.store.models import Deadline, Delivery, DeliveryStatus, ReachEvent

from support.factories import (
    Enqueued,
    Firm,
    acting,
    credit_code,
    enter_plain_years,
    enterprise_csv,
    policy,
    send_batch,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday: two working days later is Wednesday, five the next Monday.
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)
TUESDAY = datetime(2031, 3, 4, 9, 30, tzinfo=SHANGHAI)
WEDNESDAY = datetime(2031, 3, 5, 9, 30, tzinfo=SHANGHAI)
NEXT_MONDAY = datetime(2031, 3, 10, 9, 30, tzinfo=SHANGHAI)
FIRMS = range(1, 8)


class Clock:
    """The clock's ladder job and everything it sets going, run to the end in this thread."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.dispatch = Enqueued()

    def drain(self) -> None:
        """Fan out every queued trigger and send every queued batch."""
        while self.dispatch.fan_outs or self.dispatch.batches:
            while self.dispatch.fan_outs:
                fan_out(
                    self.runtime.sessions,
                    self.dispatch,
                    self.dispatch.fan_outs.pop(0),
                    settings=self.runtime.settings.delivery,
                )
            while self.dispatch.batches:
                send_batch(self.runtime, self.dispatch.batches.pop(0))

    def run_ladders(self) -> list[int]:
        """One run of the clock's ladder job, and what it set going."""
        job = _JobContext(self.runtime, self.dispatch)
        fired = send_reach_ladders(job)
        self.drain()
        return fired


class _JobContext:
    """The runtime as the clock holds it, with the dispatch that runs here."""

    def __init__(self, runtime, dispatch) -> None:
        self.settings = runtime.settings
        self.sessions = runtime.sessions
        self.time_source = runtime.time_source
        self.dispatch = dispatch


@pytest.fixture
def runtime(make_runtime, database_url):
    built = make_runtime(database_url=database_url, time_source=ManualTime(MONDAY))
    enter_plain_years(built, 2031)
    # Firm 7 said no to SMS before the policy; all of them take only email for now.
    _register(built, channels="email")
    with built.sessions.begin() as session:
        enterprise_store.unsubscribe(session, [credit_code(7)], channel="sms")
    return built


def _register(runtime, *, channels: str) -> None:
    csv = enterprise_csv([Firm(n, channels=channels) for n in FIRMS])
    assert import_enterprises(runtime.sessions, io.StringIO(csv), dry_run=False).errors == []


def _publish(runtime, clock: Clock, **fields) -> int:
    draft = parse_policy(policy(**fields), zone=runtime.settings.zone)
    published = publish(runtime.sessions, clock.dispatch, draft, time_source=runtime.time_source)
    clock.drain()
    return published.policy_id


def _ids(runtime) -> dict[int, int]:
    with runtime.sessions() as session:
        return {n: enterprise_store.get_by_credit_code(session, credit_code(n)).id for n in FIRMS}


def _sent(runtime, policy_id: int) -> set[tuple[int, str]]:
    """(firm number, channel) of every delivery of the policy that went out."""
    numbers = {eid: n for n, eid in _ids(runtime).items()}
    with runtime.sessions() as session:
        rows = session.execute(
            select(Delivery.enterprise_id, Delivery.channel, Delivery.status).where(
                Delivery.policy_id == policy_id
            )
        ).all()
    assert all(status == DeliveryStatus.SENT for _, _, status in rows), rows
    return {(numbers[eid], channel) for eid, channel, _ in rows}


def _ladder_marks(runtime, policy_id: int) -> set[tuple[int, str]]:
    numbers = {eid: n for n, eid in _ids(runtime).items()}
    with runtime.sessions() as session:
        rows = session.execute(
            select(ReachEvent.enterprise_id, ReachEvent.key).where(
                ReachEvent.policy_id == policy_id, ReachEvent.kind == "ladder"
            )
        ).all()
    return {(numbers[eid], key) for eid, key in rows}


def test_a_ladder_resends_once_on_the_next_channel_to_exactly_the_firms_that_had_not_opened(
    runtime,
):
    clock = Clock(runtime)
    policy_id = _publish(
        runtime, clock, reach_ladder="2个工作日、5个工作日",
        deadlines=[{"title": "申报截止", "due_at": "2031-04-30"}],
    )  # fmt: skip
    assert _sent(runtime, policy_id) == {(n, "email") for n in FIRMS}
    # The register's next import adds SMS and the firms' robots; firm 7's "no" to SMS stays.
    _register(runtime, channels="sms;email;webhook")
    ids, context = _ids(runtime), acting(runtime)
    events.record_opened(context, policy_id, ids[1])
    events.confirm(context, policy_id, ids[2])
    events.not_applicable(context, policy_id, ids[3], "不是汽车零部件企业")
    events.done(context, policy_id, ids[4], _deadline_id(runtime, policy_id))

    runtime.time_source.set(TUESDAY)  # one working day: not yet
    assert clock.run_ladders() == []

    runtime.time_source.set(WEDNESDAY)  # two working days: firms 5 and 6 by SMS, 7 by robot
    assert len(clock.run_ladders()) == 2
    first = {(n, "email") for n in FIRMS} | {(5, "sms"), (6, "sms"), (7, "webhook")}
    assert _sent(runtime, policy_id) == first
    assert _ladder_marks(runtime, policy_id) == {(5, "ladder:2"), (6, "ladder:2"), (7, "ladder:2")}
    with runtime.sessions() as session:
        states = {row.id: row.state for row in reach_states.of_policy(session, policy_id)}
    assert states[ids[1]] == ReachState.OPENED and states[ids[4]] == ReachState.DONE

    assert clock.run_ladders() == []  # a second run: nothing more
    assert _sent(runtime, policy_id) == first

    events.record_opened(context, policy_id, ids[5])
    # Five working days: firm 6 by robot (never tried there); firm 7 was tried once on email
    # and once by robot: email again (the tie goes by preference; SMS it refused).
    runtime.time_source.set(NEXT_MONDAY)
    assert len(clock.run_ladders()) == 2
    assert _sent(runtime, policy_id) == first | {(6, "webhook")}
    assert _count(runtime, policy_id, 7, "email") == 2 and _count(runtime, policy_id, 5, "sms") == 1
    assert clock.run_ladders() == []
    assert _count(runtime, policy_id, 7, "email") == 2
    assert (7, "sms") not in _sent(runtime, policy_id)  # unsubscribed: never used


def _count(runtime, policy_id: int, number: int, channel: str) -> int:
    """How many messages of the policy firm ``number`` got on ``channel``."""
    with runtime.sessions() as session:
        return len(
            session.scalars(
                select(Delivery.id).where(
                    Delivery.policy_id == policy_id,
                    Delivery.enterprise_id == _ids(runtime)[number],
                    Delivery.channel == channel,
                )
            ).all()
        )


def test_a_firm_told_on_every_channel_is_reminded_by_sms_then_by_email(make_runtime, database_url):
    runtime = make_runtime(database_url=database_url, time_source=ManualTime(MONDAY))
    enter_plain_years(runtime, 2031)
    _register(runtime, channels="sms;email")
    clock = Clock(runtime)
    policy_id = _publish(runtime, clock, reach_ladder=[2, 5])
    events.confirm(acting(runtime), policy_id, _ids(runtime)[1])
    runtime.time_source.set(WEDNESDAY)
    clock.run_ladders()
    assert [_count(runtime, policy_id, n, "sms") for n in FIRMS] == [1, 2, 2, 2, 2, 2, 2]
    assert [_count(runtime, policy_id, n, "email") for n in FIRMS] == [1] * 7
    runtime.time_source.set(NEXT_MONDAY)
    clock.run_ladders()
    assert [_count(runtime, policy_id, n, "email") for n in FIRMS] == [1, 2, 2, 2, 2, 2, 2]
    assert [_count(runtime, policy_id, n, "sms") for n in FIRMS] == [1, 2, 2, 2, 2, 2, 2]


def _deadline_id(runtime, policy_id: int) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(Deadline.id).where(Deadline.policy_id == policy_id))


def test_an_empty_ladder_resends_nothing_and_no_ladder_takes_the_setting(runtime):
    clock = Clock(runtime)
    never = _publish(runtime, clock, ref="never", reach_ladder=[])
    default = _publish(runtime, clock, ref="default", title="另一项政策")
    _register(runtime, channels="sms;email")
    runtime.time_source.set(WEDNESDAY)  # the setting's ladder is [2]
    clock.run_ladders()
    assert {channel for _, channel in _sent(runtime, never)} == {"email"}
    assert {(n, "sms") for n in range(1, 7)} <= _sent(runtime, default)


def test_a_rung_long_past_is_not_sent_late(runtime):
    clock = Clock(runtime)
    policy_id = _publish(runtime, clock)
    _register(runtime, channels="sms;email")
    runtime.time_source.set(NEXT_MONDAY)  # the rung of two working days was last Wednesday
    assert clock.run_ladders() == []
    assert {channel for _, channel in _sent(runtime, policy_id)} == {"email"}


def test_a_resend_due_in_quiet_hours_waits_for_the_morning(monkeypatch, make_runtime, database_url):
    monkeypatch.delenv("NOTIFIER_QUIET_HOURS__SMS")  # the default: SMS quiet 21:00-08:00
    runtime = make_runtime(database_url=database_url, time_source=ManualTime(MONDAY))
    enter_plain_years(runtime, 2031)
    _register(runtime, channels="email")
    clock = Clock(runtime)
    runtime.time_source.set(datetime(2031, 3, 3, 22, 0, tzinfo=SHANGHAI))
    policy_id = _publish(runtime, clock)
    _register(runtime, channels="sms;email")
    runtime.time_source.set(datetime(2031, 3, 5, 22, 5, tzinfo=SHANGHAI))
    assert clock.run_ladders()
    with runtime.sessions() as session:
        waiting = session.scalars(
            select(Delivery.status).where(
                Delivery.policy_id == policy_id, Delivery.channel == "sms"
            )
        ).all()
    assert waiting and set(waiting) == {DeliveryStatus.DEFERRED}
    runtime.time_source.set(datetime(2031, 3, 6, 8, 1, tzinfo=SHANGHAI))
    with runtime.sessions() as session:
        ids = list(session.scalars(select(Delivery.id).where(Delivery.channel == "sms")))
    send_batch(runtime, ids)
    assert {(n, "sms") for n in FIRMS} <= _sent(runtime, policy_id)


def test_the_clock_runs_the_ladder_job():
    assert (send_reach_ladders, "reach_interval_seconds") in JOBS
