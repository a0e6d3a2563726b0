"""The clock's jobs: due policies get their trigger once; only one clock leads at a time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.leader import Leadership
from notifier.services.policies.publishing import publish, scan_published
from notifier.store import policies
from notifier.store.models import Trigger
from notifier.store.models.base import utcnow

from support.factories import policy


def enqueued_fan_outs(runtime) -> list[int]:
    """The trigger ids waiting in the in-process broker's fan-out queue."""
    queue = runtime.queue.broker.queues["fan_out"]
    return [message.args[0] for message in _decoded(queue)]


def _decoded(queue):
    from dramatiq import Message

    return [Message.decode(raw) for raw in list(queue.queue)]


def test_policy_published_for_later_is_triggered_by_the_clock_once_its_time_has_come(
    database_url, make_runtime
):
    runtime = make_runtime(database_url=database_url)
    later = (utcnow() + timedelta(hours=1)).isoformat()
    result = publish(
        runtime.sessions,
        runtime.dispatch,
        parse_policy(policy(published_at=later), zone=runtime.settings.zone),
    )
    assert result.trigger_id is None
    assert scan_published(runtime.sessions, runtime.dispatch) == []

    with runtime.sessions.begin() as session:
        policies.get(session, result.policy_id).published_at = utcnow() - timedelta(seconds=1)
    first = scan_published(runtime.sessions, runtime.dispatch)
    again = scan_published(runtime.sessions, runtime.dispatch)

    assert len(first) == 1 and again == []
    assert enqueued_fan_outs(runtime) == first
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Trigger)) == 1


def test_scan_is_the_backstop_for_a_publish_whose_trigger_was_never_made(
    database_url, make_runtime
):
    runtime = make_runtime(database_url=database_url)
    draft = parse_policy(policy(), zone=runtime.settings.zone)
    with runtime.sessions.begin() as session:  # stored, but the process died before the trigger
        created = policies.create(session, draft, now=utcnow())
    triggered = scan_published(runtime.sessions, runtime.dispatch)
    with runtime.sessions() as session:
        trigger = session.get(Trigger, triggered[0])
        assert trigger.policy_id == created.id


def test_only_one_clock_leads_and_another_takes_over_when_it_stops(postgres_database, make_runtime):
    runtime = make_runtime(database_url=postgres_database)
    first, second = Leadership(runtime.engine), Leadership(runtime.engine)
    try:
        assert first.is_leader()
        assert not second.is_leader()
        assert first.is_leader()  # keeps it
        first.release()
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.release()
        second.release()


def test_the_clock_jobs_take_their_time_from_the_injected_clock_not_the_machine(
    database_url, make_runtime
):
    time_source = ManualTime(utcnow())
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    later = time_source.now() + timedelta(days=30)
    result = publish(
        runtime.sessions,
        runtime.dispatch,
        parse_policy(policy(published_at=later.isoformat()), zone=runtime.settings.zone),
        time_source=time_source,
    )
    assert result.trigger_id is None
    assert scan_published(runtime.sessions, runtime.dispatch, time_source=time_source) == []

    time_source.set(later + timedelta(seconds=1))  # a month passes in no time at all
    fired = scan_published(runtime.sessions, runtime.dispatch, time_source=time_source)

    assert len(fired) == 1
    assert runtime.messages.time_source is time_source
