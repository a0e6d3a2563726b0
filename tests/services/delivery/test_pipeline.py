"""End to end: a published policy reaches every matching enterprise on SMS, email and webhook.

Real parts throughout: SQLite and PostgreSQL, the in-process broker, Redis and RabbitMQ, and
loopback peers that verify what they receive (SMTP server, signed SMS gateway, webhook receiver).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from notifier.inputs.policy_file import parse_policy
from notifier.jobs.worker import start_worker
from notifier.runtime import Runtime
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store import enterprises
from notifier.store.models import Delivery, DeliveryAttempt

from support.factories import Firm, credit_code, enterprise_csv, policy
from support.peers import SmsGateway, SmtpPeer, WebhookReceiver

SMS_KEY, SMS_SECRET = "test-key", "test-sms-secret"
WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NQ=="


@pytest.fixture
def peers() -> Iterator[tuple[SmsGateway, SmtpPeer, WebhookReceiver]]:
    with (
        SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as sms,
        SmtpPeer() as smtp,
        WebhookReceiver(secret=WEBHOOK_SECRET) as hooks,
    ):
        yield sms, smtp, hooks


@pytest.fixture(params=["embedded", "redis", "rabbitmq"])
def system(request, database_url, make_runtime, peers) -> Iterator[Runtime]:
    """The whole system on one database and broker, talking to the loopback peers."""
    sms, smtp, _ = peers
    kind = request.param
    broker = None if kind == "embedded" else request.getfixturevalue(f"{kind}_url")
    runtime = make_runtime(
        database_url=database_url,
        broker_url=broker,
        sms={"provider": "http", "url": sms.url, "app_key": SMS_KEY, "app_secret": SMS_SECRET},
        email={"provider": "smtp", "host": smtp.host, "port": smtp.port},
        webhook={"provider": "http", "secret": WEBHOOK_SECRET},
        delivery={"batch_size": 3},
    )
    worker = start_worker(runtime.queue.broker, threads=4)
    yield runtime
    worker.stop()


def load(runtime: Runtime, firms: list[Firm]) -> None:
    report = import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
    assert report.errors == []


def publish_and_wait(runtime: Runtime, **fields) -> int:
    result = publish(
        runtime.sessions,
        runtime.dispatch,
        parse_policy(policy(**fields), zone=runtime.settings.zone),
    )
    assert result.trigger_id is not None
    follow(runtime.sessions, result.trigger_id, show=False, timeout=60)
    return result.policy_id


def test_policy_for_c36_reaches_exactly_the_subscribed_c36_enterprises_on_their_channels(
    system, peers
):
    sms, smtp, hooks = peers
    firms = [
        Firm(1, sectors="C3670", channels="sms;email;webhook", webhook_url=hooks.url + "?e=1"),
        Firm(2, sectors="C3610", channels="email"),
        Firm(3, sectors="C2614;C3640", channels="sms;webhook", webhook_url=hooks.url + "?e=3"),
        Firm(4, sectors="C3812", channels="sms;email"),  # C38: not targeted
        Firm(5, sectors="C3670", channels="sms;email"),  # unsubscribes below
        Firm(6, sectors="C36", channels="sms;email"),  # unsubscribes from sms only
    ]
    load(system, firms)
    with system.sessions.begin() as session:
        enterprises.unsubscribe(session, [credit_code(5)])
        enterprises.unsubscribe(session, [credit_code(6)], channel="sms")

    publish_and_wait(system)

    assert sorted(m["to"] for m in sms.messages) == ["+8613800000001", "+8613800000003"]
    assert all(m["text"].startswith("【北仑企服】") for m in sms.messages)
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == [
        "firm1@example.cn",
        "firm2@example.cn",
        "firm6@example.cn",
    ]
    assert sorted(payload["enterprise"]["credit_code"] for _, payload in hooks.received) == [
        credit_code(1),
        credit_code(3),
    ]
    with system.sessions() as session:
        statuses = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        assert dict(statuses.all()) == {"sent": 7}
        attempts = session.scalar(select(func.count()).select_from(DeliveryAttempt))
        assert attempts == 7


def test_each_message_carries_its_delivery_idempotency_key_downstream(system, peers):
    sms, smtp, hooks = peers
    load(system, [Firm(1, webhook_url=hooks.url)])
    publish_and_wait(system)
    with system.sessions() as session:
        keys = {d.channel: d for d in session.scalars(select(Delivery))}
    from notifier.channels.base import message_id_for

    assert sms.messages[0]["out_id"] == message_id_for(keys["sms"].idempotency_key)
    assert hooks.received[0][0] == message_id_for(keys["webhook"].idempotency_key)
    assert message_id_for(keys["email"].idempotency_key) in smtp.messages[0].message["Message-ID"]
    assert smtp.messages[0].message["List-Unsubscribe"]


def test_publishing_the_same_policy_twice_sends_nothing_twice(system, peers):
    sms, smtp, hooks = peers
    load(system, [Firm(1, webhook_url=hooks.url), Firm(2, channels="sms")])
    first = publish_and_wait(system)
    second = publish_and_wait(system)
    assert first == second
    assert len(sms.messages) == 2 and len(smtp.messages) == 1 and len(hooks.received) == 1
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 4


@pytest.mark.parametrize(
    ("targets", "topics", "expected"),
    [
        ({"regions": ["浙江省/宁波市/北仑区/小港街道"]}, [], {2}),
        ({"sizes": ["micro", "medium"]}, [], {2, 3}),
        ({"tags": ["专精特新", "规上"]}, [], {3}),
        ({}, ["补贴"], {1, 3}),  # 2 chose other topics; 1 and 3 chose none or 补贴
    ],
)
def test_region_size_tag_and_topic_filters_choose_the_audience(
    system, peers, targets, topics, expected
):
    sms, _, _ = peers
    load(
        system,
        [
            Firm(1, channels="sms", size="small", tags="专精特新"),
            Firm(
                2,
                channels="sms",
                size="micro",
                region="浙江省/宁波市/北仑区/小港街道/新碶工业社区",
                topics="税费",
            ),
            Firm(3, channels="sms", size="medium", tags="专精特新;规上", topics="补贴;环保"),
        ],
    )
    publish_and_wait(system, targets=targets, topics=topics)
    assert {int(m["to"][-4:]) for m in sms.messages} == expected
