"""Replies through the real callback route: R (拒收) stops marketing SMS to that number at once,
even one queued before the reply, while notices still go; every reply is kept with the SMS it
answered; 投诉 and staff complaints are kept too; each change of consent says where it came
from; and the monthly report counts exactly what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.domain.channel_names import SMS
from notifier.domain.time_source import ManualTime
from notifier.runtime import Runtime
from notifier.services.enterprises.subscriptions import leave_channel
from notifier.services.sms_rules.complaints import log_complaint
from notifier.services.sms_rules.report import monthly_rates
from notifier.store.models import (
    Complaint,
    Delivery,
    Enterprise,
    InboundReply,
    NumberRefusal,
    Subscription,
)
from notifier.web.app import create_app

from support.deliveries import deliveries, fanned_out
from support.factories import (
    ALIYUN_TEMPLATES,
    KEY_ID,
    KEY_SECRET,
    Firm,
    acting,
    credit_code,
    send_batch,
)
from support.vendor_peers import AliyunSmsPeer

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOKEN = "callback-token-0123456789"
FIRMS = [Firm(1, channels="sms"), Firm(2, channels="sms")]
ONE, TWO = "+8613800000001", "+8613800000002"


@pytest.fixture
def aliyun_peer() -> Iterator[AliyunSmsPeer]:
    with AliyunSmsPeer(keys={KEY_ID: KEY_SECRET}) as peer:
        yield peer


@pytest.fixture
def system(database_url: str, make_runtime: Any, aliyun_peer: AliyunSmsPeer) -> Runtime:
    """SMS through Alibaba Cloud (loopback) with its reply callback; the clock set to now."""
    return make_runtime(
        ManualTime(datetime.now(UTC).replace(microsecond=0)),
        database_url=database_url,
        providers=[{
            "name": "ali", "channel": SMS, "kind": "aliyun-sms",
            "options": {"access_key_id": KEY_ID, "sign_name": "北仑企服",
                        "endpoint": aliyun_peer.url, "templates": ALIYUN_TEMPLATES},
            "secrets": {"access_key_secret": KEY_SECRET, "callback_token": TOKEN},
        }],
        # Marketing at any hour: the clock is the wall clock's, which may be at night.
        content={"marketing_hours": "00:00-00:00"},
    )  # fmt: skip


def reply(client: TestClient, runtime: Runtime, phone: str, text: str) -> None:
    """The vendor pushes a reply sent a minute after the clock's time, through the route."""
    runtime.time_source.set(runtime.time_source.now() + timedelta(minutes=1))  # type: ignore[attr-defined]
    sent = runtime.time_source.now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    body = json.dumps([{"phone_number": phone.removeprefix("+86"), "send_time": sent,
                        "content": text, "sign_name": "北仑企服", "dest_code": "1",
                        "sequence_id": 1}], ensure_ascii=False).encode()
    answered = client.post("/callbacks/ali/replies", params={"token": TOKEN}, content=body)
    assert (answered.status_code, answered.json()["code"]) == (200, 0)


def by_address(runtime: Runtime, ids: list[int]) -> dict[str, Delivery]:
    return {row.address: row for row in deliveries(runtime, ids)}


def sources(runtime: Runtime) -> dict[str, tuple[bool, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Enterprise.credit_code, Subscription.subscribed, Subscription.source)
            .join(Subscription, Subscription.enterprise_id == Enterprise.id)
            .where(Subscription.channel == SMS)
        )
        return {code: (on, source) for code, on, source in rows}


def test_r_stops_marketing_sms_to_the_number_at_once_and_notices_still_go(
    system: Runtime, notifier: Any
) -> None:
    client = TestClient(create_app(system))
    first = fanned_out(system, FIRMS, title="第一号通知")
    send_batch(system, first)
    answered = by_address(system, first)[ONE]
    assert answered.status == "sent"
    assert sources(system)[credit_code(1)] == (True, "import")
    # Queued before the reply: a marketing SMS and a notice to each firm.
    marketing = fanned_out(system, FIRMS, title="园区招商活动")
    notice = fanned_out(system, FIRMS, title="第二号通知")
    with system.sessions.begin() as session:
        for row in session.scalars(select(Delivery).where(Delivery.id.in_(marketing))):
            row.message_class = "marketing"

    reply(client, system, ONE, "R")
    send_batch(system, [*marketing, *notice])

    refused = by_address(system, marketing)
    assert refused[ONE].status == "suppressed"
    assert "refused marketing SMS (replied R)" in (refused[ONE].last_error or "")
    assert refused[TWO].status == "sent"  # the other number did not refuse
    assert {row.status for row in deliveries(system, notice)} == {"sent"}  # notices still go
    with system.sessions() as session:
        [kept] = session.scalars(select(InboundReply)).all()
        assert (kept.kind, kept.delivery_id, kept.unsubscribed) == ("refuse", answered.id, False)
        [refusal] = session.scalars(select(NumberRefusal)).all()
        assert (refusal.phone, refusal.reply_id) == (ONE, kept.id)
    assert sources(system)[credit_code(1)] == (True, "import")  # still takes notices by SMS

    # A complaint by reply and one logged by staff, each with the SMS it answered; TD from
    # the other firm; the first firm leaves SMS on its page.
    latest = by_address(system, notice)[ONE].id
    reply(client, system, ONE, "我要投诉，别再发了")
    logged = log_complaint(acting(system), credit_code(1), "电话投诉：短信太多")
    assert logged.delivery_id == latest
    reply(client, system, TWO, "TD")
    with system.sessions() as session:
        complaints = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert [(c.source, c.delivery_id, c.phone) for c in complaints] == [
            ("reply", latest, ONE), ("staff", latest, None)]
        firm_one = session.scalar(select(Enterprise.id).where(
            Enterprise.credit_code == credit_code(1)))
    assert sources(system)[credit_code(2)] == (False, "reply")
    assert firm_one is not None
    leave_channel(acting(system), firm_one, SMS)
    assert sources(system)[credit_code(1)] == (False, "page")

    # The month: 5 SMS sent (2 + 1 marketing + 2 notices), 2 complaints, 3 opt-outs (R, TD and
    # the page), per 1,000 SMS sent.
    [month] = monthly_rates(acting(system), months=1)
    assert (month.sms_sent, month.complaints, month.opt_outs) == (5, 2, 3)
    assert (month.reply_opt_outs, month.page_opt_outs) == (2, 1)
    assert (month.complaint_rate, month.opt_out_rate) == (400.0, 600.0)
    assert notifier.json("complaints", "report", "--months", "1") == [month.as_json()]
