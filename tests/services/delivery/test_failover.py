"""Failover, limits, throttling and expiry, against real loopback SMS gateways.

Provider A and provider B are two real gateways; the delivery clock is a ManualTime, so a
circuit's cool-down and a delivery's maximum age pass by moving it, not by waiting.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from notifier.domain.secret_box import new_key
from notifier.domain.time_source import ManualTime
from notifier.runtime import Runtime
from notifier.services.providers.admin import ProviderDraft, add
from notifier.store.models import Delivery, DeliveryAttempt

from support.deliveries import SMS_KEY, SMS_SECRET, deliveries, fanned_out, gateway_entry
from support.factories import Firm, acting, send_batch
from support.peers import SmsGateway
from support.waiting import wait_until
from support.workers import Workers, worker_environment


def now() -> datetime:
    """Deliveries are made at the real time; the tests' clocks start there (no quiet hours)."""
    return datetime.now(UTC)


@pytest.fixture
def gateways() -> Iterator[tuple[SmsGateway, SmsGateway]]:
    with (
        SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as first,
        SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as second,
    ):
        yield first, second


def send_all(runtime: Runtime, ids: list[int]) -> None:
    for start in range(0, len(ids), 200):
        send_batch(runtime, ids[start : start + 200])


def attempts(runtime: Runtime, delivery_id: int) -> list[DeliveryAttempt]:
    with runtime.sessions() as session:
        query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
        return list(session.scalars(query.order_by(DeliveryAttempt.id)))


@pytest.mark.slow
def test_with_a_answering_500_a_thousand_sms_are_sent_through_b_and_a_is_tried_after_cooldown(
    database_url, make_runtime, gateways
):
    a, b = gateways
    time_source = ManualTime(now())
    runtime = make_runtime(
        time_source,
        database_url=database_url,
        providers=[gateway_entry("gw-a", a, 0), gateway_entry("gw-b", b, 1)],
        circuit={"failures": 3, "cooldown_seconds": 60},
    )
    ids = fanned_out(runtime, [Firm(n, channels="sms") for n in range(1, 1021)])
    assert len(ids) == 1020
    a.fail_next(500, count=4, body={"code": "down", "message": "gateway down"})

    send_all(runtime, ids[:1000])

    sent = deliveries(runtime, ids[:1000])
    assert Counter(d.status for d in sent) == {"sent": 1000}
    assert {d.provider for d in sent} == {"gw-b"}
    assert len(b.messages) == 1000
    assert len(a.arrivals) == 3  # three failures opened A's circuit; then it was left alone
    first = attempts(runtime, ids[0])
    assert [(t.provider, t.outcome) for t in first] == [("gw-a", "failed"), ("gw-b", "sent")]
    assert "gateway down" in (first[0].error or "")

    # After the cool-down A gets one trial; it fails again, and the circuit opens again.
    time_source.advance(timedelta(seconds=61))
    send_all(runtime, ids[1000:1010])
    assert len(a.arrivals) == 4
    assert {d.provider for d in deliveries(runtime, ids[1000:1010])} == {"gw-b"}

    # After another cool-down the trial succeeds: traffic returns to A.
    time_source.advance(timedelta(seconds=61))
    send_all(runtime, ids[1010:])
    back = deliveries(runtime, ids[1010:])
    assert {d.status for d in back} == {"sent"} and {d.provider for d in back} == {"gw-a"}
    assert len(a.messages) == 10


def test_a_throttled_answer_waits_and_retries_without_using_up_attempts(
    database_url, make_runtime, gateways
):
    a, _ = gateways
    time_source = ManualTime(now())
    runtime = make_runtime(
        time_source,
        database_url=database_url,
        providers=[gateway_entry("gw-a", a, 0)],
        delivery={"max_attempts": 2, "backoff_base_seconds": 10},
    )
    (delivery_id,) = fanned_out(runtime, [Firm(1, channels="sms")])
    a.fail_next(429, count=3, body={"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "too fast"})

    for n in range(3):
        retries = send_batch(runtime, [delivery_id])
        (row,) = deliveries(runtime, [delivery_id])
        assert row.status == "deferred" and row.attempts == 0 and row.throttled == n + 1
        assert "BUSINESS_LIMIT_CONTROL" in (row.last_error or "")
        assert [r.delivery_id for r in retries] == [delivery_id]
        # No wait named (no Retry-After): backoff doubling with the throttled tries.
        assert 8 * 2**n <= retries[0].delay <= 12 * 2**n
        time_source.advance(timedelta(seconds=retries[0].delay))
    send_batch(runtime, [delivery_id])

    (row,) = deliveries(runtime, [delivery_id])
    assert row.status == "sent" and row.provider == "gw-a"
    assert len(a.messages) == 1


def test_a_delivery_older_than_its_max_age_ends_expired_with_its_last_error(
    database_url, make_runtime, gateways
):
    a, _ = gateways
    time_source = ManualTime(now())
    runtime = make_runtime(
        time_source, database_url=database_url, providers=[gateway_entry("gw-a", a, 0)]
    )
    (delivery_id,) = fanned_out(runtime, [Firm(1, channels="sms")])
    a.fail_next(503, count=1, body={"code": "Busy", "message": "overloaded"})
    send_batch(runtime, [delivery_id])

    with runtime.sessions.begin() as session:  # made 24 h 1 min ago (rows carry wall time)
        made = now() - timedelta(hours=24, minutes=1)
        session.execute(update(Delivery).values(created_at=made, next_attempt_at=None))
    retries = send_batch(runtime, [delivery_id])

    (row,) = deliveries(runtime, [delivery_id])
    assert row.status == "expired" and retries == []
    assert "expired after 24 h" in (row.last_error or "") and "overloaded" in row.last_error
    assert a.messages == []  # nothing is sent once it is too old
    assert send_batch(runtime, [delivery_id]) == []  # final: decided once
    assert [t.outcome for t in attempts(runtime, delivery_id)] == ["deferred", "expired"]


def test_when_every_circuit_is_open_the_delivery_waits_for_the_first_to_half_open(
    database_url, make_runtime, gateways
):
    a, _ = gateways
    time_source = ManualTime(now())
    runtime = make_runtime(
        time_source,
        database_url=database_url,
        providers=[gateway_entry("gw-a", a, 0)],
        circuit={"failures": 1, "cooldown_seconds": 120},
        delivery={"max_attempts": 1},
    )
    first, second = fanned_out(runtime, [Firm(1, channels="sms"), Firm(2, channels="sms")])
    a.fail_next(500, count=1)

    send_batch(runtime, [first])
    retries = send_batch(runtime, [second])

    (row,) = deliveries(runtime, [second])
    assert row.status == "deferred" and row.attempts == 0  # not a try: max_attempts is 1
    assert retries[0].delay == pytest.approx(120, abs=1)
    time_source.advance(timedelta(seconds=121))
    send_batch(runtime, [second])
    assert deliveries(runtime, [second])[0].status == "sent"


# --- limits across worker processes -----------------------------------------------------------

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
def test_a_provider_limited_to_50_a_second_never_gets_more_from_two_worker_processes(
    database_url, redis_url, make_runtime, gateways, tmp_path
):
    a, _ = gateways
    key = new_key()
    runtime = make_runtime(database_url=database_url, secrets={"keys": [key]})
    add(
        acting(runtime),
        ProviderDraft(
            name="gw-a",
            channel="sms",
            kind="sms-gateway",
            options={"url": a.url, "app_key": SMS_KEY, "rate_per_second": 50, "concurrency": 8},
            secrets={"app_secret": SMS_SECRET},
        ),
    )
    total = 300
    ids = fanned_out(runtime, [Firm(n, channels="sms") for n in range(1, total + 1)])
    environment = worker_environment(
        tmp_path / "var",
        database_url=database_url,
        broker_url=redis_url,
        secrets__keys=json.dumps([key]),
    )
    workers = Workers(environment, tmp_path / "worker.log", processes=2)
    try:
        queue = Runtime.build(runtime.settings.model_copy(update={"broker_url": redis_url}))
        try:
            for start in range(0, total, 10):  # small batches: both processes take a share
                queue.dispatch.deliveries(ids[start : start + 10])
        finally:
            queue.close()
        started = time.monotonic()
        wait_until(
            lambda: len(a.messages) == total, timeout=40, what=f"{total} messages at the gateway"
        )
        elapsed = time.monotonic() - started

        def statuses() -> Counter[str]:
            with runtime.sessions() as session:
                return Counter(session.scalars(select(Delivery.status)))

        # The gateway has the last message a moment before its worker records it as sent.
        wait_until(lambda: statuses() == {"sent": total}, timeout=20, what="every send recorded")
        output = workers.output()
    finally:
        workers.stop()
    per_second = a.per_second()
    print(f"gateway requests per second: {list(per_second.values())}; {elapsed:.1f} s")
    assert max(per_second.values()) <= 50, per_second
    assert elapsed >= (total / 50) - 2  # it was held back, not merely fast
    assert len(set(_pids(output))) == 2, output  # both processes sent
    assert statuses() == {"sent": total}


def _pids(output: str) -> list[str]:
    import re

    return re.findall(r"batch of \d+ deliveries done in process (\d+)", output)


def test_changed_rows_reach_a_running_process_without_a_restart(
    database_url, make_runtime, gateways
):
    a, _ = gateways
    runtime = make_runtime(database_url=database_url, secrets={"keys": [new_key()]})
    assert [p.kind for p in runtime.providers.for_channel("sms")] == ["dry-run"]
    add(
        acting(runtime),
        ProviderDraft(
            name="gw-a",
            channel="sms",
            kind="sms-gateway",
            options={"url": a.url, "app_key": SMS_KEY},
            secrets={"app_secret": SMS_SECRET},
        ),
    )
    runtime.catalog.refresh()
    assert [p.name for p in runtime.providers.for_channel("sms")] == ["gw-a"]
    with runtime.sessions.begin() as session:
        from notifier.store.models import ProviderAccount as Provider

        session.execute(update(Provider).values(enabled=False, updated_at=now()))
    runtime.catalog.refresh()
    assert [p.kind for p in runtime.providers.for_channel("sms")] == ["dry-run"]
