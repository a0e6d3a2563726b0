"""The sweeper puts lost work back on the queue, on SQLite and PostgreSQL.

The runtime is embedded with no worker, so what a sweep enqueues stays on the in-process
broker, where the test reads it. Rows are made stuck by moving their timestamps into the past.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from sqlalchemy import select, update

from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.sweeper import Swept
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.models import Delivery, Trigger
from notifier.store.models.base import utcnow

from factories import Enqueued, Firm, enterprise_csv, policy, send_batch, sweep_now
from peers import HttpAnswer, SmsGateway

STUCK_AFTER = 60
OLD = timedelta(seconds=STUCK_AFTER * 2)
RECENT = timedelta(seconds=STUCK_AFTER / 6)


@pytest.fixture
def runtime(database_url, make_runtime) -> Runtime:
    return make_runtime(
        database_url=database_url,
        delivery={"stuck_after_seconds": STUCK_AFTER, "max_attempts": 3, "batch_size": 2},
    )


def published(runtime: Runtime, firms: int) -> int:
    """Import ``firms`` SMS-only firms and publish a policy for them; return the trigger id."""
    csv = enterprise_csv([Firm(n, channels="sms") for n in range(1, firms + 1)])
    assert import_enterprises(runtime.sessions, io.StringIO(csv), dry_run=False).errors == []
    result = publish(
        runtime.sessions, runtime.dispatch, parse_policy(policy(), zone=runtime.settings.zone)
    )
    assert result.trigger_id is not None
    return result.trigger_id


def fanned_out(runtime: Runtime, firms: int) -> list[int]:
    collected: list[int] = []
    fan_out(
        runtime.sessions,
        Enqueued(collected.extend),
        published(runtime, firms),
        settings=runtime.settings.delivery,
    )
    assert len(collected) == firms
    runtime.queue.broker.flush_all()  # start from an empty broker: only the sweep enqueues
    return collected


def set_rows(runtime: Runtime, delivery_id: int, **values: object) -> None:
    with runtime.sessions.begin() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def enqueued(runtime: Runtime, queue_name: str) -> list[tuple]:
    """The arguments of every message waiting on ``queue_name`` of the in-process broker."""
    queue = runtime.queue.broker.queues[queue_name]
    return [tuple(dramatiq.Message.decode(raw).args) for raw in queue.queue]


def enqueued_delivery_ids(runtime: Runtime) -> list[int]:
    return sorted(i for (batch,) in enqueued(runtime, "deliver") for i in batch)


def statuses(runtime: Runtime, ids: list[int]) -> list[str]:
    with runtime.sessions() as session:
        query = select(Delivery.id, Delivery.status).where(Delivery.id.in_(ids))
        by_id = {delivery_id: status for delivery_id, status in session.execute(query)}
    return [by_id[i] for i in ids]


def test_deliveries_stuck_in_sending_queued_pending_or_overdue_deferred_are_queued_again(runtime):
    ids = fanned_out(runtime, 4)
    now = utcnow()
    sending, queued, pending, deferred = ids
    set_rows(runtime, sending, status="sending", claimed_at=now - OLD, attempts=1)
    set_rows(runtime, queued, status="queued", queued_at=now - OLD)
    set_rows(runtime, pending, status="pending", queued_at=None, created_at=now - OLD)
    set_rows(runtime, deferred, status="deferred", attempts=1, next_attempt_at=now - OLD)

    assert sweep_now(runtime) == Swept(triggers=0, deliveries=4)

    assert statuses(runtime, ids) == ["queued"] * 4
    assert enqueued_delivery_ids(runtime) == sorted(ids)
    assert [len(batch) for (batch,) in enqueued(runtime, "deliver")] == [2, 2]  # batch_size
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids))))
    assert all(r.claimed_at is None and r.queued_at >= now for r in rows)
    assert enqueued(runtime, "fan_out") == []


def test_fresh_deliveries_are_left_alone(runtime):
    ids = fanned_out(runtime, 5)
    now = utcnow()
    sending, queued, pending, deferred_due, deferred_later = ids
    set_rows(runtime, sending, status="sending", claimed_at=now - RECENT, attempts=1)
    set_rows(runtime, queued, status="queued", queued_at=now - RECENT)
    set_rows(runtime, pending, status="pending", queued_at=None, created_at=now - RECENT)
    # Due a little while ago: its own delayed message is still expected to come.
    set_rows(runtime, deferred_due, status="deferred", attempts=1, next_attempt_at=now - RECENT)
    set_rows(runtime, deferred_later, status="deferred", attempts=1, next_attempt_at=now + OLD)

    assert sweep_now(runtime) == Swept(triggers=0, deliveries=0)

    assert statuses(runtime, ids) == ["sending", "queued", "pending", "deferred", "deferred"]
    assert enqueued(runtime, "deliver") == []


def test_finished_deliveries_are_never_swept_however_old(runtime):
    ids = fanned_out(runtime, 3)
    old = utcnow() - OLD
    for delivery_id, status in zip(ids, ["sent", "failed", "suppressed"], strict=True):
        set_rows(runtime, delivery_id, status=status, claimed_at=old, queued_at=old, created_at=old)

    assert sweep_now(runtime).deliveries == 0
    assert statuses(runtime, ids) == ["sent", "failed", "suppressed"]


def test_a_delivery_stuck_in_sending_on_its_last_attempt_is_failed_not_queued_again(runtime):
    last_try, earlier_try = fanned_out(runtime, 2)
    old = utcnow() - OLD
    set_rows(runtime, last_try, status="sending", claimed_at=old, attempts=3)  # max_attempts
    set_rows(runtime, earlier_try, status="sending", claimed_at=old, attempts=2)

    assert sweep_now(runtime).deliveries == 1

    assert statuses(runtime, [last_try, earlier_try]) == ["failed", "queued"]
    assert enqueued_delivery_ids(runtime) == [earlier_try]
    with runtime.sessions() as session:
        failed = session.get(Delivery, last_try)
        assert failed.last_error == "worker stopped while sending, on every attempt"


def test_a_trigger_whose_fan_out_went_quiet_is_queued_again_once(runtime):
    trigger_id = published(runtime, 1)  # its fan-out message is "lost": no worker runs
    runtime.queue.broker.flush_all()
    with runtime.sessions.begin() as session:
        session.execute(
            update(Trigger).where(Trigger.id == trigger_id).values(heartbeat_at=utcnow() - OLD)
        )

    assert sweep_now(runtime) == Swept(triggers=1, deliveries=0)
    assert enqueued(runtime, "fan_out") == [(trigger_id,)]

    # The heartbeat was reset, so the next sweep waits again before queueing it once more.
    assert sweep_now(runtime) == Swept(triggers=0, deliveries=0)
    assert enqueued(runtime, "fan_out") == [(trigger_id,)]


def test_running_triggers_with_a_quiet_heartbeat_are_queued_again_but_live_or_done_ones_are_not(
    runtime,
):
    quiet = published(runtime, 1)
    runtime.queue.broker.flush_all()
    with runtime.sessions.begin() as session:
        session.execute(
            update(Trigger)
            .where(Trigger.id == quiet)
            .values(status="running", heartbeat_at=utcnow() - OLD)
        )
        # A live running trigger and a long-finished one beside it.
        for key, status, beat in [("live", "running", RECENT), ("done", "done", OLD)]:
            session.add(
                Trigger(
                    key=key,
                    kind="policy_published",
                    due_at=utcnow(),
                    status=status,
                    heartbeat_at=utcnow() - beat,
                )
            )

    assert sweep_now(runtime).triggers == 1
    assert enqueued(runtime, "fan_out") == [(quiet,)]


def test_a_swept_delivery_is_sent_once_when_its_old_message_also_arrives(runtime):
    """The sweep re-queues, the lost message turns up after all: the claim lets one through."""
    [delivery_id] = fanned_out(runtime, 1)
    set_rows(runtime, delivery_id, queued_at=utcnow() - OLD)
    sweep_now(runtime)

    send_batch(runtime, [delivery_id])  # the swept message
    send_batch(runtime, [delivery_id])  # the original one, late

    with runtime.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert (delivery.status, delivery.attempts) == ("sent", 1)


HELD_FOR = 1.0  # seconds the held gateway keeps the first request


class HeldGateway(SmsGateway):
    """The SMS gateway, holding its first request until the test lets it go."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.first_arrived = threading.Event()
        self.let_go = threading.Event()

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            self.let_go.wait(timeout=30)
        return super().answer(path, headers, body)


def test_a_delivery_swept_back_while_it_waits_in_a_live_workers_batch_is_sent_once(
    database_url, make_runtime
):
    with HeldGateway(key="k", secret="s") as gateway:
        runtime = make_runtime(
            database_url=database_url,
            sms={"provider": "http", "url": gateway.url, "app_key": "k", "app_secret": "s"},
            delivery={"stuck_after_seconds": HELD_FOR / 2},
        )
        in_flight, waiting = fanned_out(runtime, 2)
        worker = threading.Thread(target=send_batch, args=(runtime, [in_flight, waiting]))
        worker.start()
        try:
            assert gateway.first_arrived.wait(timeout=10)
            # The first send hangs so long that the batch's claims look abandoned to the sweeper.
            time.sleep(HELD_FOR)
            sweep_now(runtime)
            send_batch(runtime, [waiting])  # the swept message, taken by another worker
        finally:
            gateway.let_go.set()
            worker.join(timeout=30)
        send_batch(runtime, [in_flight])  # its swept message arrives after it was recorded

    assert sorted(m["to"] for m in gateway.messages) == ["+8613800000001", "+8613800000002"]
    assert statuses(runtime, [in_flight, waiting]) == ["sent", "sent"]


def test_every_delivery_the_sweeper_took_from_a_live_chunk_is_left_to_the_other_worker(
    database_url, make_runtime
):
    with HeldGateway(key="k", secret="s") as gateway:
        runtime = make_runtime(
            database_url=database_url,
            sms={"provider": "http", "url": gateway.url, "app_key": "k", "app_secret": "s"},
            delivery={"stuck_after_seconds": HELD_FOR / 2},
        )
        in_flight, *waiting = fanned_out(runtime, 4)
        worker = threading.Thread(target=send_batch, args=(runtime, [in_flight, *waiting]))
        worker.start()
        try:
            assert gateway.first_arrived.wait(timeout=10)
            time.sleep(HELD_FOR)
            sweep_now(runtime)
            send_batch(runtime, waiting)  # all three swept, taken by another worker
        finally:
            gateway.let_go.set()
            worker.join(timeout=30)

    assert sorted(m["to"] for m in gateway.messages) == [f"+861380000000{n}" for n in (1, 2, 3, 4)]
    assert statuses(runtime, [in_flight, *waiting]) == ["sent"] * 4


def test_one_sweep_puts_back_at_most_twenty_batches_and_the_next_takes_the_rest(
    database_url, make_runtime
):
    runtime = make_runtime(
        database_url=database_url, delivery={"batch_size": 1, "stuck_after_seconds": STUCK_AFTER}
    )
    for delivery_id in fanned_out(runtime, 25):
        set_rows(runtime, delivery_id, queued_at=utcnow() - OLD)

    first, second = sweep_now(runtime), sweep_now(runtime)

    assert (first.deliveries, second.deliveries) == (20, 5)
