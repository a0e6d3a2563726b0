"""Sending a batch: claim, render, send, record, against the real SMS gateway and webhook peers.

Deliveries are made the way the system makes them (import, publish, fan-out) on SQLite and
PostgreSQL; ``deliver_batch`` is then called directly, or through the ``deliver`` actor on the
in-process broker.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import select, update

from notifier.config import DeliverySettings
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.deliver_actor import make_deliver
from notifier.jobs.worker import start_worker
from notifier.runtime import Runtime
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.sending import backoff
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store import enterprises
from notifier.store.models import Delivery, DeliveryAttempt
from notifier.store.models.base import utcnow

from factories import Enqueued, Firm, credit_code, enterprise_csv, policy, send_batch
from peers import SilentPeer, SmsGateway

SMS_KEY, SMS_SECRET = "test-key", "test-sms-secret"


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as sms:
        yield sms


@pytest.fixture
def sms_runtime(database_url, make_runtime, gateway):
    """Build an embedded runtime whose SMS channel is the loopback gateway (or ``sms_url``)."""

    def build(*, sms_url: str | None = None, sms_timeout: float = 5.0, **overrides) -> Runtime:
        sms = {
            "provider": "http",
            "url": sms_url or gateway.url,
            "app_key": SMS_KEY,
            "app_secret": SMS_SECRET,
            "timeout": sms_timeout,
        }
        return make_runtime(database_url=database_url, sms=sms, **overrides)

    return build


def fanned_out(runtime: Runtime, firms: list[Firm]) -> list[int]:
    """Import ``firms``, publish a policy that reaches them, fan it out; return the delivery ids."""
    stream = io.StringIO(enterprise_csv(firms))
    assert import_enterprises(runtime.sessions, stream, dry_run=False).errors == []
    published = publish(
        runtime.sessions, runtime.dispatch, parse_policy(policy(), zone=runtime.settings.zone)
    )
    assert published.trigger_id is not None
    collected: list[int] = []
    fan_out(
        runtime.sessions,
        Enqueued(collected.extend),
        published.trigger_id,
        settings=runtime.settings.delivery,
    )
    assert collected
    return collected


def one_sms(runtime: Runtime) -> int:
    (delivery_id,) = fanned_out(runtime, [Firm(1, channels="sms")])
    return delivery_id


def row(runtime: Runtime, delivery_id: int) -> Delivery:
    with runtime.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        return delivery


def attempts_of(runtime: Runtime, delivery_id: int) -> list[DeliveryAttempt]:
    with runtime.sessions() as session:
        query = (
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.number)
        )
        return list(session.scalars(query))


def make_due(runtime: Runtime, delivery_id: int) -> None:
    """Move the delivery's retry time into the past."""
    with runtime.sessions.begin() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_a_gateway_5xx_defers_the_delivery_with_its_reason_and_one_attempt(sms_runtime, gateway):
    runtime = sms_runtime()
    delivery_id = one_sms(runtime)
    gateway.fail_next(503, body={"code": "Busy", "message": "gateway overloaded"})

    before = utcnow()
    retries = send_batch(runtime, [delivery_id])

    delivery = row(runtime, delivery_id)
    assert delivery.status == "deferred"
    assert delivery.attempts == 1
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > before
    assert "HTTP 503" in delivery.last_error and "gateway overloaded" in delivery.last_error
    [attempt] = attempts_of(runtime, delivery_id)
    assert (attempt.number, attempt.outcome) == (1, "deferred")
    assert attempt.error == delivery.last_error
    [retry] = retries
    assert retry.delivery_id == delivery_id and retry.delay > 0
    assert gateway.messages == []


def test_a_deferred_delivery_is_not_sent_before_its_retry_time_and_is_sent_after_it(
    sms_runtime, gateway
):
    runtime = sms_runtime()
    delivery_id = one_sms(runtime)
    gateway.fail_next(503)
    send_batch(runtime, [delivery_id])

    assert send_batch(runtime, [delivery_id]) == []  # too early: not claimed
    assert row(runtime, delivery_id).attempts == 1

    make_due(runtime, delivery_id)
    assert send_batch(runtime, [delivery_id]) == []

    delivery = row(runtime, delivery_id)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert delivery.provider_message_id == "gw-1"
    assert delivery.next_attempt_at is None and delivery.sent_at is not None
    assert [(a.number, a.outcome) for a in attempts_of(runtime, delivery_id)] == [
        (1, "deferred"),
        (2, "sent"),
    ]
    assert len(gateway.messages) == 1


def test_a_gateway_4xx_fails_the_delivery_at_once_keeping_the_gateways_reason(sms_runtime, gateway):
    runtime = sms_runtime()
    delivery_id = one_sms(runtime)
    gateway.fail_next(400, body={"code": "InvalidPhone", "message": "not a mobile number"})

    assert send_batch(runtime, [delivery_id]) == []

    delivery = row(runtime, delivery_id)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "sms gateway refused (HTTP 400): InvalidPhone not a mobile number"
    assert [a.outcome for a in attempts_of(runtime, delivery_id)] == ["failed"]


def test_the_last_allowed_attempt_turns_a_transient_error_into_failed(sms_runtime, gateway):
    runtime = sms_runtime(delivery={"max_attempts": 3, "backoff_base_seconds": 0})
    delivery_id = one_sms(runtime)
    gateway.fail_next(502, count=3)

    for _ in range(2):
        [retry] = send_batch(runtime, [delivery_id])
        assert row(runtime, delivery_id).status == "deferred"
    assert send_batch(runtime, [delivery_id]) == []

    delivery = row(runtime, delivery_id)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error.startswith("gave up after 3 attempts: sms gateway answered HTTP 502")
    assert [a.outcome for a in attempts_of(runtime, delivery_id)] == [
        "deferred",
        "deferred",
        "failed",
    ]
    assert send_batch(runtime, [delivery_id]) == []  # failed is final
    assert row(runtime, delivery_id).attempts == 3


def test_a_recipient_who_unsubscribes_after_fan_out_is_suppressed_and_never_contacted(
    sms_runtime, gateway
):
    runtime = sms_runtime()
    ids = fanned_out(runtime, [Firm(1, channels="sms"), Firm(2, channels="sms")])
    with runtime.sessions.begin() as session:
        enterprises.unsubscribe(session, [credit_code(2)], channel="sms")

    send_batch(runtime, ids)

    statuses = {row(runtime, i).address: row(runtime, i).status for i in ids}
    assert statuses == {"+8613800000001": "sent", "+8613800000002": "suppressed"}
    assert [m["to"] for m in gateway.messages] == ["+8613800000001"]
    suppressed = next(i for i in ids if row(runtime, i).status == "suppressed")
    assert row(runtime, suppressed).last_error == "recipient unsubscribed"


def test_a_sent_delivery_is_not_claimed_or_sent_again_when_its_id_arrives_twice(
    sms_runtime, gateway
):
    runtime = sms_runtime()
    delivery_id = one_sms(runtime)

    send_batch(runtime, [delivery_id])
    assert send_batch(runtime, [delivery_id]) == []

    delivery = row(runtime, delivery_id)
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(attempts_of(runtime, delivery_id)) == 1
    assert len(gateway.messages) == 1


def test_the_deliver_actor_sends_a_batch_once_although_the_broker_carries_it_twice(
    sms_runtime, gateway
):
    runtime = sms_runtime()
    ids = fanned_out(runtime, [Firm(n, channels="sms") for n in range(1, 6)])
    worker = start_worker(runtime.queue.broker, threads=4)
    try:
        runtime.dispatch.deliveries(ids)
        runtime.dispatch.deliveries(ids)  # a redelivered duplicate
        runtime.queue.broker.join("deliver", fail_fast=True)
        worker.join()
    finally:
        worker.stop()

    assert {row(runtime, i).status for i in ids} == {"sent"}
    assert sorted(m["to"] for m in gateway.messages) == [f"+861380000000{n}" for n in range(1, 6)]
    assert {row(runtime, i).attempts for i in ids} == {1}


def test_the_deliver_actor_queues_a_transient_failure_again_and_sends_it_after_the_delay(
    sms_runtime, gateway
):
    runtime = sms_runtime(delivery={"backoff_base_seconds": 0.05})
    delivery_id = one_sms(runtime)
    gateway.fail_next(503)
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        runtime.dispatch.deliveries([delivery_id])
        runtime.queue.broker.join("deliver", fail_fast=True)
        worker.join()
    finally:
        worker.stop()

    delivery = row(runtime, delivery_id)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(gateway.messages) == 1


def test_a_broken_template_fails_the_delivery_with_a_template_reason_and_raises_nothing(
    sms_runtime, gateway, tmp_path: Path
):
    templates = tmp_path / "templates"
    (templates / "policy_published").mkdir(parents=True)
    (templates / "policy_published" / "sms.txt").write_text("{{ policy.nope }}", encoding="utf-8")
    runtime = sms_runtime(templates_dir=templates)
    delivery_id = one_sms(runtime)

    assert send_batch(runtime, [delivery_id]) == []

    delivery = row(runtime, delivery_id)
    assert delivery.status == "failed"
    assert delivery.last_error.startswith("template: ")
    assert "'policy' has no attribute 'nope'" in delivery.last_error
    assert gateway.messages == []


def test_a_gateway_that_never_answers_is_a_transient_timeout(sms_runtime):
    with SilentPeer() as silent:
        runtime = sms_runtime(sms_url=silent.url, sms_timeout=0.3)
        delivery_id = one_sms(runtime)
        [retry] = send_batch(runtime, [delivery_id])

    delivery = row(runtime, delivery_id)
    assert (delivery.status, delivery.attempts) == ("deferred", 1)
    assert delivery.last_error == "timeout after 0.3s talking to 127.0.0.1"
    assert retry.delivery_id == delivery_id


def test_backoff_doubles_with_each_attempt_and_never_passes_its_cap():
    policy_ = DeliverySettings(backoff_base_seconds=30, backoff_max_seconds=200)
    for attempts, nominal in [(1, 30), (2, 60), (3, 120)]:
        for _ in range(50):
            assert 0.8 * nominal <= backoff(attempts, policy_) <= 1.2 * nominal
    for attempts in (4, 5, 20, 50):
        for _ in range(50):
            assert 0.8 * 200 <= backoff(attempts, policy_) <= 200


def test_a_batch_slowed_by_a_silent_gateway_hands_back_what_it_had_no_time_to_start(
    sms_runtime,
):
    with SilentPeer() as silent:
        runtime = sms_runtime(sms_url=silent.url, sms_timeout=0.3, delivery={"batch_seconds": 0.2})
        ids = fanned_out(runtime, [Firm(1, channels="sms"), Firm(2, channels="sms")])
        retries = send_batch(runtime, ids)

    first, second = sorted(ids)
    assert [(r.delivery_id, r.delay > 0) for r in retries] == [(first, True), (second, False)]
    assert (row(runtime, first).status, row(runtime, first).attempts) == ("deferred", 1)
    assert (row(runtime, second).status, row(runtime, second).attempts) == ("queued", 0)
    assert attempts_of(runtime, second) == []


def test_the_deliver_actor_queues_what_a_batch_had_no_time_for_as_one_batch_at_once(
    sms_runtime, gateway
):
    runtime = sms_runtime(delivery={"batch_seconds": 0.000001})
    ids = fanned_out(runtime, [Firm(n, channels="sms") for n in range(1, 4)])
    runtime.queue.broker.flush_all()

    make_deliver(runtime)(ids)  # the actor, closed over this runtime

    [message] = [
        dramatiq.Message.decode(raw) for raw in runtime.queue.broker.queues["deliver"].queue
    ]
    assert sorted(message.args[0]) == sorted(ids)[1:]  # every batch sends at least one
    assert len(gateway.messages) == 1
