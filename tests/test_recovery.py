"""Acceptance: a worker killed with ``kill -9`` mid-send loses nothing and sends nothing twice.

Deliveries left ``queued`` or ``sending`` by a worker killed with ``kill -9`` are finished after a
restart by the sweeper; the receiver sees each once, except a delivery whose kill fell between
send and record, which arrives again with the same idempotency key.

Real parts only: PostgreSQL, Redis, ``notifier worker`` processes and a webhook receiver that
verifies signatures. The receiver answers slowly, so the worker is always mid-send when killed.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from sqlalchemy import select

from notifier.channels.base import message_id_for
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.queues import QUEUES
from notifier.runtime import Runtime
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.models import Delivery

from factories import Firm, enterprise_csv, policy, sweep_now
from peers import HttpAnswer, WebhookReceiver

WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NQ=="
FIRMS = 30
BATCH = 3
CLAIM_CHUNK = 2  # deliveries claimed and recorded together (delivery.claim_chunk)
WORKER_THREADS = 2
ANSWER_SECONDS = 0.3  # how long the receiver takes over each request
# Longer than one send takes, or the sweeper would re-queue a live send (and it would repeat).
STUCK_AFTER = 2.0
NOTIFIER = Path(sys.executable).parent / "notifier"


class SlowReceiver(WebhookReceiver):
    """Records each request when it arrives, then takes its time to answer."""

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        answer = super().answer(path, headers, body)
        time.sleep(ANSWER_SECONDS)  # the sender's request is in flight all this while
        return answer


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    with SlowReceiver(secret=WEBHOOK_SECRET) as hooks:
        yield hooks


def worker_environment(database_url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    config_dir = var_dir / "no-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "NOTIFIER_CONFIG_DIR": str(config_dir),
        "NOTIFIER_ENVIRONMENT": "test",
        "NOTIFIER_VAR_DIR": str(var_dir),
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_REDIS_URL": redis_url,
        "NOTIFIER_WEBHOOK__PROVIDER": "http",
        "NOTIFIER_WEBHOOK__SECRET": WEBHOOK_SECRET,
        "NOTIFIER_ALLOWED_PRIVATE_TARGETS": '["127.0.0.0/8"]',
        "NOTIFIER_ALLOWED_WEBHOOK_TARGETS": '["127.0.0.0/8:*"]',
        "NOTIFIER_DELIVERY__BATCH_SIZE": str(BATCH),
        "NOTIFIER_DELIVERY__CLAIM_CHUNK": str(CLAIM_CHUNK),
        "NOTIFIER_DELIVERY__STUCK_AFTER_SECONDS": str(STUCK_AFTER),
    }


class Workers:
    """``notifier worker`` subprocesses, each logging to its own file; all stopped at the end."""

    def __init__(self, environment: dict[str, str], log_dir: Path) -> None:
        self._environment = environment
        self._log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self._log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [str(NOTIFIER), "worker", "--threads", str(WORKER_THREADS)],
            env=self._environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()  # the child holds its own copy
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self._log_dir.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def statuses(runtime: Runtime) -> dict[int, str]:
    with runtime.sessions() as session:
        return {i: s for i, s in session.execute(select(Delivery.id, Delivery.status))}


def wait_until(condition, *, timeout: float, what: str, every: float = 0.05, between=None):
    """Poll ``condition`` until it returns something true; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        if between is not None:
            between()
        time.sleep(every)


def namespace() -> str:
    """The Redis namespace of this test's queues (conftest gives each test its own)."""
    return os.environ["NOTIFIER_REDIS_NAMESPACE"]


def unacked(client: redis.Redis) -> dict[bytes, set[bytes]]:
    """Every worker's set of messages taken from a queue and not yet acknowledged."""
    return {key: client.smembers(key) for key in client.scan_iter(f"{namespace()}:__acks__.*")}


def redeliver_dead_workers_messages(redis_url: str) -> None:
    """Run dramatiq's Redis maintenance now (it runs on ~0.1% of commands, after 60 s)."""
    broker = RedisBroker(
        url=redis_url,
        namespace=namespace(),
        heartbeat_timeout=1_000,
        maintenance_chance=MAINTENANCE_SCALE,
    )
    try:
        for queue_name in QUEUES:  # maintenance covers the queue of the command that ran it
            broker.do_qsize(queue_name)  # any command but ack and nack runs it
    finally:
        broker.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_deliveries_left_by_a_killed_worker_are_finished_after_restart_and_only_the_in_flight_one_repeats(  # noqa: E501
    database_url, redis_url, make_runtime, receiver, tmp_path
):
    runtime = make_runtime(
        database_url=database_url,
        redis_url=redis_url,
        webhook={"provider": "http", "secret": WEBHOOK_SECRET},
        delivery={"batch_size": BATCH, "stuck_after_seconds": STUCK_AFTER},
    )
    client = redis.Redis.from_url(redis_url)
    firms = [
        Firm(n, channels="webhook", webhook_url=f"{receiver.url}?e={n}")
        for n in range(1, FIRMS + 1)
    ]
    csv = io.StringIO(enterprise_csv(firms))
    assert import_enterprises(runtime.sessions, csv, dry_run=False).errors == []
    published = publish(
        runtime.sessions, runtime.dispatch, parse_policy(policy(), zone=runtime.settings.zone)
    )
    assert published.trigger_id is not None
    # Fan out here, with no worker anywhere: every delivery sits `queued`, its batch in Redis.
    fan_out(
        runtime.sessions,
        runtime.dispatch,
        published.trigger_id,
        settings=runtime.settings.delivery,
    )
    assert list(statuses(runtime).values()) == ["queued"] * FIRMS

    def partly_sent() -> bool:
        return FIRMS // 4 <= list(statuses(runtime).values()).count("sent") < FIRMS

    def all_sent() -> bool:
        return set(statuses(runtime).values()) == {"sent"}

    def drained() -> bool:
        idle = not any(unacked(client).values())
        return idle and not any(client.llen(f"{namespace()}:{name}") for name in QUEUES)

    workers = Workers(worker_environment(database_url, redis_url, tmp_path), tmp_path)
    try:
        first = workers.start()
        wait_until(partly_sent, timeout=60, what="the first worker to send some deliveries")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        at_kill = statuses(runtime)
        sending_at_kill = {i for i, s in at_kill.items() if s == "sending"}
        assert {"sending", "queued"} & set(at_kill.values()), at_kill
        held_by_the_dead_worker = unacked(client)
        assert any(held_by_the_dead_worker.values())  # it took messages it never acknowledged

        workers.start()
        wait_until(
            all_sent,
            timeout=60,
            what="every delivery to be sent",
            every=0.5,
            between=lambda: sweep_now(runtime),  # as the clock does
        )
        received_when_done = Counter(webhook_id for webhook_id, _ in receiver.received)

        # Now the broker hands the dead worker's messages out again: nothing is sent twice.
        redeliver_dead_workers_messages(redis_url)
        assert not any(client.exists(key) for key in held_by_the_dead_worker)
        wait_until(drained, timeout=30, what="the new worker to take the redelivered messages")
    except Exception:
        print(workers.logs())
        raise
    finally:
        workers.stop_all()
        client.close()

    assert all_sent()
    with runtime.sessions() as session:
        webhook_ids = {
            d.id: message_id_for(d.idempotency_key) for d in session.scalars(select(Delivery))
        }
    received = Counter(webhook_id for webhook_id, _ in receiver.received)
    assert received == received_when_done
    assert set(received) == set(webhook_ids.values())  # everyone got it, nobody else got anything
    repeated = {webhook_id for webhook_id, times in received.items() if times > 1}
    assert repeated <= {webhook_ids[i] for i in sending_at_kill}
    assert max(received.values()) <= 2
    # The bound the settings promise: a killed thread repeats at most one claimed chunk.
    assert len(repeated) <= CLAIM_CHUNK * WORKER_THREADS
    print(f"kill -9: {len(repeated)} repeated of {FIRMS} (bound {CLAIM_CHUNK * WORKER_THREADS})")
