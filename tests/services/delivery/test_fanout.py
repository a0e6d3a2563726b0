"""Fan-out: one delivery per recipient and channel, whatever happens twice."""

from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import func, select

from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.deliveries import idempotency_key
from notifier.store.models import Delivery, Enterprise, Trigger

from support.factories import Enqueued, Firm, credit_code, enterprise_csv, policy


@pytest.fixture
def runtime(database_url, make_runtime) -> Runtime:
    # Pages and batches far smaller than the audience, so their edges are crossed.
    return make_runtime(database_url=database_url, delivery={"fan_out_chunk": 3, "batch_size": 4})


def load_and_publish(runtime: Runtime, firms: list[Firm], **fields) -> int:
    csv = io.StringIO(enterprise_csv(firms))
    assert import_enterprises(runtime.sessions, csv, dry_run=False).errors == []
    result = publish(
        runtime.sessions,
        runtime.dispatch,
        parse_policy(policy(**fields), zone=runtime.settings.zone),
    )
    assert result.trigger_id is not None
    return result.trigger_id


def deliveries_of(runtime: Runtime) -> list[Delivery]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_fan_out_reads_the_audience_in_pages_and_queues_every_delivery_once_in_batches(runtime):
    firms = [Firm(n, channels="sms;email") for n in range(1, 12)]
    trigger_id = load_and_publish(runtime, firms)
    queued: list[list[int]] = []

    total = fan_out(
        runtime.sessions,
        Enqueued(lambda ids: queued.append(list(ids))),
        trigger_id,
        settings=runtime.settings.delivery,
    )

    assert total == 22
    assert all(len(batch) <= 4 for batch in queued)
    assert sorted(i for batch in queued for i in batch) == [d.id for d in deliveries_of(runtime)]
    assert {d.status for d in deliveries_of(runtime)} == {"queued"}


def test_running_the_fan_out_twice_creates_no_second_delivery_and_queues_nothing_again(runtime):
    trigger_id = load_and_publish(runtime, [Firm(n) for n in range(1, 6)])
    first: list[int] = []
    second: list[int] = []

    settings = runtime.settings.delivery
    fan_out(runtime.sessions, Enqueued(first.extend), trigger_id, settings=settings)
    fan_out(runtime.sessions, Enqueued(second.extend), trigger_id, settings=settings)

    assert len(first) == 15 and second == []
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 15
        assert session.get(Trigger, trigger_id).status == "done"


def test_two_fan_outs_of_one_trigger_at_once_queue_each_delivery_exactly_once(runtime):
    trigger_id = load_and_publish(runtime, [Firm(n) for n in range(1, 21)])
    queued: list[int] = []
    lock = threading.Lock()

    def enqueue(ids):
        with lock:
            queued.extend(ids)

    threads = [
        threading.Thread(
            target=fan_out,
            args=(runtime.sessions, Enqueued(enqueue), trigger_id),
            kwargs={"settings": runtime.settings.delivery},
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(queued) == [d.id for d in deliveries_of(runtime)]
    assert len(queued) == 60


def test_each_delivery_keeps_why_its_enterprise_was_reached(runtime):
    firms = [Firm(1, sectors="C2614;C3670", size="micro", channels="sms", tags="专精特新")]
    trigger_id = load_and_publish(
        runtime, firms, targets={"sectors": ["C36"], "sizes": ["micro"], "tags": ["专精特新"]}
    )
    fan_out(
        runtime.sessions, Enqueued(lambda ids: None), trigger_id, settings=runtime.settings.delivery
    )

    [delivery] = deliveries_of(runtime)
    assert delivery.reason == {"sector": "C3670", "size": "micro", "tags": ["专精特新"]}


def test_an_enterprise_reached_through_two_sectors_gets_one_message_per_channel(runtime):
    trigger_id = load_and_publish(
        runtime, [Firm(7, sectors="C3670;C3610", channels="sms")], targets={"sectors": ["C36"]}
    )
    fan_out(
        runtime.sessions, Enqueued(lambda ids: None), trigger_id, settings=runtime.settings.delivery
    )

    [delivery] = deliveries_of(runtime)
    assert (delivery.address, delivery.reason["sector"]) == ("+8613800000007", "C3610")
    with runtime.sessions() as session:
        assert session.get(Delivery, delivery.id).enterprise.credit_code == credit_code(7)


def test_a_fan_out_after_an_upgrade_makes_no_second_delivery_of_a_row_an_older_version_made(
    runtime,
):
    firms = [Firm(n, channels="sms;email;webhook", webhook_url=f"https://钩子.example.cn/企业{n}")
             for n in range(1, 6)]  # fmt: skip
    trigger_id = load_and_publish(runtime, firms)
    with runtime.sessions.begin() as session:
        trigger = session.get(Trigger, trigger_id)
        # A delivery an older version made, its key computed in Python.
        older = Delivery(
            idempotency_key=idempotency_key(
                trigger.key, credit_code(3), "webhook", "https://钩子.example.cn/企业3"
            ),
            trigger_id=trigger_id,
            policy_id=trigger.policy_id,
            enterprise_id=session.scalar(
                select(Enterprise.id).where(Enterprise.credit_code == credit_code(3))
            ),
            channel="webhook",
            address="https://钩子.example.cn/企业3",
            status="sent",
        )
        session.add(older)
    queued: list[int] = []

    settings = runtime.settings.delivery
    fan_out(runtime.sessions, Enqueued(queued.extend), trigger_id, settings=settings)

    made = deliveries_of(runtime)
    assert len(made) == 15 and len(queued) == 14
    with runtime.sessions() as session:
        trigger = session.get(Trigger, trigger_id)
        firms = session.execute(select(Enterprise.id, Enterprise.credit_code))
        codes = {firm_id: code for firm_id, code in firms}
        for delivery in made:
            expected = idempotency_key(
                trigger.key, codes[delivery.enterprise_id], delivery.channel, delivery.address
            )
            assert delivery.idempotency_key == expected


def test_the_first_page_is_one_batch_so_sending_starts_before_the_fan_out_ends(
    database_url, make_runtime
):
    runtime = make_runtime(
        database_url=database_url, delivery={"fan_out_chunk": 10, "batch_size": 4}
    )
    trigger_id = load_and_publish(runtime, [Firm(n, channels="sms") for n in range(1, 16)])
    seen_when_queued: list[int] = []

    def count_made(ids):
        # How many deliveries exist when each batch is queued.
        with runtime.sessions() as session:
            seen_when_queued.append(session.scalar(select(func.count()).select_from(Delivery)))

    fan_out(runtime.sessions, Enqueued(count_made), trigger_id, settings=runtime.settings.delivery)

    assert seen_when_queued[0] == 4  # one batch made, queued at once
    assert seen_when_queued[-1] == 15
