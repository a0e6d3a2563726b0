"""Throttled answers: each waits as long as its limit lasts, and a cap ends what cannot pass.

Real loopback vendors (tests/support/vendor_peers.py) answer the limits their documents name; the
delivery clock is a ManualTime, so a day passes by moving it, not by waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import update

from notifier.channels.http import retry_after
from notifier.domain.channel_names import SMS
from notifier.domain.time_source import ManualTime
from notifier.runtime import Runtime
from notifier.services.delivery.throttling import next_local_day
from notifier.store.models import Delivery
from notifier.store.models.base import utcnow

from support.deliveries import deliveries, fanned_out, gateway_entry
from support.factories import (
    ALIYUN_TEMPLATES,
    KEY_ID,
    KEY_SECRET,
    SECRET_ID,
    SECRET_KEY,
    TENCENT_TEMPLATES,
    Firm,
    send_batch,
)
from support.peers import SmsGateway
from support.vendor_peers import AliyunSmsPeer, TencentSmsPeer

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Firm(1)'s number, as the vendors see it.
NUMBER = "13800000001"
# A working morning: outside the SMS quiet hours (21:00-08:00).
MORNING = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def tencent_peer() -> Iterator[TencentSmsPeer]:
    with TencentSmsPeer(keys={SECRET_ID: SECRET_KEY}) as peer:
        yield peer


@pytest.fixture
def aliyun_peer() -> Iterator[AliyunSmsPeer]:
    with AliyunSmsPeer(keys={KEY_ID: KEY_SECRET}) as peer:
        yield peer


def tencent_entry(peer: TencentSmsPeer, **options: Any) -> dict[str, Any]:
    return {
        "name": "tx", "channel": SMS, "kind": "tencent-sms",
        "options": {"secret_id": SECRET_ID, "sms_sdk_app_id": "1400000001",
                    "sign_name": "北仑企服", "endpoint": peer.url,
                    "templates": TENCENT_TEMPLATES, **options},
        "secrets": {"secret_key": SECRET_KEY},
    }


def aliyun_entry(peer: AliyunSmsPeer, **options: Any) -> dict[str, Any]:
    return {
        "name": "ali", "channel": SMS, "kind": "aliyun-sms",
        "options": {"access_key_id": KEY_ID, "sign_name": "北仑企服", "endpoint": peer.url,
                    "templates": ALIYUN_TEMPLATES, **options},
        "secrets": {"access_key_secret": KEY_SECRET},
    }


def one_sms(runtime: Runtime) -> int:
    (delivery_id,) = fanned_out(runtime, [Firm(1, channels="sms")])
    return delivery_id


def run_for(runtime: Runtime, time_source: ManualTime, delivery_id: int, span: timedelta) -> None:
    """Send the delivery each time it falls due, as the deliver actor queues it again, until
    ``span`` has passed on the clock or the delivery is final."""
    end = time_source.now() + span
    for _ in range(100):  # far more than the few tries a day should cost
        retries = send_batch(runtime, [delivery_id])
        if not retries:
            return
        if time_source.now() + timedelta(seconds=retries[0].delay) >= end:
            return
        time_source.advance(timedelta(seconds=max(retries[0].delay, 1.0)))
    pytest.fail("the delivery was tried 100 times within the span")


def test_a_daily_limit_waits_for_the_next_local_day_and_a_day_costs_two_calls(
    database_url: str, make_runtime: Any, tencent_peer: TencentSmsPeer
) -> None:
    time_source = ManualTime(MORNING)
    # Three days to live, so that a second refusal just after midnight still leaves it a day
    # to wait (rows age on the wall clock, which hardly moves here).
    runtime = make_runtime(
        time_source, database_url=database_url, providers=[tencent_entry(tencent_peer)],
        delivery={"max_age_hours": 72},
    )
    delivery_id = one_sms(runtime)
    tencent_peer.refuse[NUMBER] = (
        "LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发短信条数超过设定的上限"
    )

    [retry] = send_batch(runtime, [delivery_id])

    (row,) = deliveries(runtime, [delivery_id])
    assert (row.status, row.attempts, row.throttled) == ("deferred", 0, 1)
    assert "达到每日发送上限 daily limit reached for this number" in (row.last_error or "")
    assert "PhoneNumberDailyLimit" in (row.last_error or "")
    # Not 30 s later: the next local day (within its 15-minute spread).
    midnight = datetime(2026, 12, 8, tzinfo=SHANGHAI)
    assert row.next_attempt_at is not None
    assert midnight <= row.next_attempt_at <= midnight + timedelta(minutes=15)
    assert retry.delay >= 14 * 3600

    # The rest of the simulated day: the delivery is tried again when due, just after
    # midnight, refused again, and waits for the day after.
    time_source.advance(timedelta(seconds=retry.delay))
    run_for(runtime, time_source, delivery_id, timedelta(hours=24) - (time_source.now() - MORNING))
    calls = len(tencent_peer.arrivals)
    print(f"\nSendSms calls for one daily-limited delivery over a simulated day: {calls}")
    assert calls == 2  # was 26 in 13 minutes, about 2,880 a day
    (row,) = deliveries(runtime, [delivery_id])
    assert row.status == "deferred" and row.throttled == 2, row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at >= datetime(
        2026, 12, 9, tzinfo=SHANGHAI
    )


def test_the_next_local_day_is_midnight_in_the_deployments_zone() -> None:
    late = datetime(2026, 12, 7, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert next_local_day(late, SHANGHAI) == datetime(2026, 12, 8, tzinfo=SHANGHAI)
    early = datetime(2026, 12, 7, 16, 1, tzinfo=UTC)  # 00:01 on the 8th in Shanghai
    assert next_local_day(early, SHANGHAI) == datetime(2026, 12, 9, tzinfo=SHANGHAI)


def test_an_http_retry_after_is_honoured(database_url: str, make_runtime: Any) -> None:
    with SmsGateway(key="test-key", secret="test-sms-secret") as gateway:
        time_source = ManualTime(MORNING)
        runtime = make_runtime(
            time_source, database_url=database_url, providers=[gateway_entry("gw", gateway, 0)],
        )
        delivery_id = one_sms(runtime)
        gateway.fail_next(429, body={"code": "busy"}, headers={"Retry-After": "600"})

        [retry] = send_batch(runtime, [delivery_id])

    (row,) = deliveries(runtime, [delivery_id])
    assert row.status == "deferred" and row.throttled == 1
    # Never sooner than asked (backoff alone would have said 30 s), a little jitter after.
    assert 600 <= retry.delay <= 600 * 1.2 + 1


def answer(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_retry_after_reads_seconds_dates_and_feishus_reset_header() -> None:
    in_ten_minutes = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    assert retry_after(answer(429, {"Retry-After": "120"})) == 120
    assert 590 <= (retry_after(answer(429, {"Retry-After": in_ten_minutes})) or 0) <= 600
    assert retry_after(answer(429, {"x-ogw-ratelimit-reset": "52"})) == 52
    assert retry_after(answer(429, {"Retry-After": "soon"})) is None
    assert retry_after(answer(429, {"Retry-After": "-5"})) == 0
    assert retry_after(answer(429, {})) is None


def test_the_throttle_cap_ends_a_delivery_with_the_vendors_reason(
    database_url: str, make_runtime: Any, aliyun_peer: AliyunSmsPeer
) -> None:
    time_source = ManualTime(MORNING)
    runtime = make_runtime(
        time_source, database_url=database_url,
        providers=[aliyun_entry(aliyun_peer, max_throttled_tries=3)],
    )
    delivery_id = one_sms(runtime)
    aliyun_peer.refuse[NUMBER] = ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")

    for _ in range(2):
        [retry] = send_batch(runtime, [delivery_id])
        assert 60 <= retry.delay <= 60 * 1.2 + 1  # the vendor's minute, not backoff
        time_source.advance(timedelta(seconds=retry.delay))
    assert send_batch(runtime, [delivery_id]) == []  # final: nothing to send again

    (row,) = deliveries(runtime, [delivery_id])
    assert (row.status, row.attempts, row.throttled) == ("failed", 0, 3)
    assert "限流 3 次后放弃 / gave up after 3 throttled tries" in (row.last_error or "")
    assert "per-minute limit reached" in (row.last_error or "")
    assert "isv.BUSINESS_LIMIT_CONTROL" in (row.last_error or "")
    assert len(aliyun_peer.arrivals) == 3


def test_the_cap_is_ten_throttled_tries_by_default(
    database_url: str, make_runtime: Any, tencent_peer: TencentSmsPeer
) -> None:
    time_source = ManualTime(MORNING)
    runtime = make_runtime(
        time_source, database_url=database_url, providers=[tencent_entry(tencent_peer)]
    )
    delivery_id = one_sms(runtime)
    tencent_peer.refuse[NUMBER] = ("LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内超限")

    run_for(runtime, time_source, delivery_id, timedelta(hours=2))

    (row,) = deliveries(runtime, [delivery_id])
    assert (row.status, row.throttled) == ("failed", 10)
    assert "gave up after 10 throttled tries" in (row.last_error or "")
    assert len(tencent_peer.arrivals) == 10


def test_a_limit_that_lifts_after_the_delivery_expires_ends_it_at_once(
    database_url: str, make_runtime: Any, aliyun_peer: AliyunSmsPeer
) -> None:
    time_source = ManualTime(MORNING)
    runtime = make_runtime(time_source, database_url=database_url,
    providers=[aliyun_entry(aliyun_peer)])
    delivery_id = one_sms(runtime)
    with runtime.sessions.begin() as session:  # made 20 h ago: 4 h of its 24 h life are left
        session.execute(update(Delivery).values(created_at=utcnow() - timedelta(hours=20)))
    aliyun_peer.refuse[NUMBER] = ("isv.DAY_LIMIT_CONTROL", "触发日发送限额")

    assert send_batch(runtime, [delivery_id]) == []

    (row,) = deliveries(runtime, [delivery_id])
    assert row.status == "failed"
    assert "达到账户每日发送限额 the account's daily limit reached" in (row.last_error or "")
    assert "past the delivery's 24 h life" in (row.last_error or "")
    assert "2026-12-08 00:" in (row.last_error or "")  # when it could next have been sent
    assert len(aliyun_peer.arrivals) == 1
