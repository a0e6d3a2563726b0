"""Email sends share a few kept SMTP connections: bounded, reused, replaced when dropped."""

from __future__ import annotations

import contextlib
import smtplib
import threading
from collections.abc import Iterator

import pytest

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.email import SmtpProvider
from notifier.channels.smtp_pool import SmtpPool
from notifier.domain.channel_names import EMAIL
from notifier.errors import TransientError

from support.peers import SmtpPeer

SENDER = "北仑企服 <noreply@notifier.test>"


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


def provider_for(peer: SmtpPeer, **options: object) -> SmtpProvider:
    config = ProviderConfig(
        name="smtp",
        channel=EMAIL,
        kind="smtp",
        options={"host": peer.host, "port": peer.port, "sender": SENDER, "timeout": 5.0, **options},
        secrets={},
    )
    return SmtpProvider.from_config(config, environment=ProviderEnvironment())


def message(number: int) -> Message:
    return Message(
        delivery_id=number,
        idempotency_key=f"policy:7:enterprise:{number}:email",
        to=f"manager{number}@enterprise.test",
        text="尊敬的企业：请于6月30日前完成申报。",
        subject="关于2024年度高新技术企业认定申报的通知",
        html="<p>尊敬的企业：请于<b>6月30日</b>前完成申报。</p>",
    )


def test_many_threads_sending_at_once_use_at_most_the_configured_connections(
    smtp_peer: SmtpPeer,
) -> None:
    provider = provider_for(smtp_peer, connections=2)
    threads, each = 8, 5
    start = threading.Barrier(threads)

    def send(first: int) -> None:
        start.wait()
        for number in range(first, first + each):
            provider.send(message(number))

    workers = [threading.Thread(target=send, args=(n * each,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    provider.close()

    assert len(smtp_peer.messages) == threads * each
    assert len({mail.rcpt_tos[0] for mail in smtp_peer.messages}) == threads * each
    assert 1 <= len({mail.peer for mail in smtp_peer.messages}) <= 2


def test_sends_one_after_another_reuse_one_connection_by_default(smtp_peer: SmtpPeer) -> None:
    provider = provider_for(smtp_peer)
    for number in range(5):
        provider.send(message(number))
    provider.close()
    assert len({mail.peer for mail in smtp_peer.messages}) == 1


def test_a_connection_the_relay_dropped_is_replaced_before_the_next_send(
    smtp_peer: SmtpPeer,
) -> None:
    # fresh=0: every kept connection is asked with NOOP first, as one idle for a while is.
    pool = SmtpPool(
        size=1,
        wait=5.0,
        fresh=0.0,
        connect=lambda: smtplib.SMTP(smtp_peer.host, smtp_peer.port, timeout=5),
    )
    with pool.connection() as smtp:
        smtp.sendmail("noreply@notifier.test", ["a@enterprise.test"], b"Subject: 1\r\n\r\n1\r\n")
    smtp_peer.drop_connections()
    with pool.connection() as smtp:
        smtp.sendmail("noreply@notifier.test", ["b@enterprise.test"], b"Subject: 2\r\n\r\n2\r\n")
    pool.close()

    first, second = smtp_peer.messages
    assert first.peer != second.peer
    assert pool.open == 0


def test_after_the_relay_drops_a_fresh_connection_the_next_sends_go_through_a_new_one(
    smtp_peer: SmtpPeer,
) -> None:
    provider = provider_for(smtp_peer, connections=1)
    provider.send(message(1))
    smtp_peer.drop_connections()
    # Used a moment ago, the dropped connection is taken without a NOOP: this send may fail,
    # transiently (the pipeline retries it), and the connection is closed.
    with contextlib.suppress(TransientError):
        provider.send(message(2))
    provider.send(message(3))
    provider.close()

    assert smtp_peer.messages[0].peer != smtp_peer.messages[-1].peer
    assert smtp_peer.messages[-1].rcpt_tos == ["manager3@enterprise.test"]


def test_a_send_that_finds_every_connection_busy_past_its_wait_is_transient(
    smtp_peer: SmtpPeer,
) -> None:
    pool = SmtpPool(
        size=1,
        wait=0.05,
        connect=lambda: smtplib.SMTP(smtp_peer.host, smtp_peer.port, timeout=5),
    )
    with pool.connection(), pytest.raises(TransientError, match="busy"), pool.connection():
        pass
    with pool.connection() as smtp:  # given back: usable again
        assert smtp.noop()[0] == 250
    pool.close()
    assert pool.open == 0


def test_a_connection_that_could_not_be_opened_leaves_room_for_the_next(
    smtp_peer: SmtpPeer,
) -> None:
    attempts: list[int] = []

    def connect() -> smtplib.SMTP:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionRefusedError("relay restarting")
        return smtplib.SMTP(smtp_peer.host, smtp_peer.port, timeout=5)

    pool = SmtpPool(size=1, wait=0.05, connect=connect)
    with pytest.raises(ConnectionRefusedError), pool.connection():
        pass
    with pool.connection() as smtp:
        assert smtp.noop()[0] == 250
    pool.close()
    assert len(attempts) == 2
