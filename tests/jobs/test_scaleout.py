"""Scale out: `notifier worker --processes N` on PostgreSQL with Redis or RabbitMQ.

The worker runs as a deployment runs it (the installed script, its own processes); this test
process only imports and publishes. Each child logs its pid per batch, which is how a test tells
which process took the work.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from notifier.config import load_settings
from notifier.errors import ConfigError
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.worker import start_worker
from notifier.runtime import Runtime
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store import migrate
from notifier.store.deliveries import DeliveryFilter, status_counts
from notifier.store.models import Delivery

from support.cli import NOTIFIER
from support.factories import Firm, acting, enterprise_csv, policy
from support.peers import HttpAnswer, SmsGateway, WebhookReceiver
from support.waiting import wait_until
from support.workers import Workers, gone, worker_environment

WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NQ=="
SMS_KEY, SMS_SECRET = "test-key", "test-sms-secret"
# Several processes share one database: PostgreSQL, as in production.
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
BATCH_DONE = re.compile(r"batch of \d+ deliveries done in process (\d+)")


class SlowReceiver(WebhookReceiver):
    """Takes a moment per request, so no one process can drain the queue alone."""

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        time.sleep(0.1)
        return super().answer(path, headers, body)


@pytest.fixture
def hooks() -> Iterator[SlowReceiver]:
    with SlowReceiver(secret=WEBHOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


# The parent's handling of signals and deaths does not depend on the broker: Redis suffices.
ON_REDIS = pytest.mark.parametrize("broker_url", ["redis"], indirect=True)


@pytest.fixture
def start_workers(database_url, broker_url, tmp_path) -> Iterator:
    """Start `notifier worker --processes N` on PostgreSQL and the broker; killed at the end."""
    environment = worker_environment(
        tmp_path / "var",
        database_url=database_url,
        broker_url=broker_url,
        webhook__provider="http",
        webhook__secret=WEBHOOK_SECRET,
        delivery__batch_size=2,
    )
    started: list[Workers] = []

    def start(processes: int = 2) -> Workers:
        workers = Workers(environment, tmp_path / f"worker-{len(started)}.log", processes=processes)
        started.append(workers)
        return workers

    yield start
    for workers in started:
        workers.stop()


@pytest.fixture
def publisher(database_url, broker_url, make_runtime) -> Runtime:
    return make_runtime(database_url=database_url, broker_url=broker_url)


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
def test_two_worker_processes_send_every_delivery_and_both_take_batches(
    start_workers, publisher, hooks
):
    workers = start_workers(processes=2)
    firms = [Firm(n, channels="webhook", webhook_url=f"{hooks.url}?e={n}") for n in range(1, 41)]
    report = import_enterprises(
        publisher.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False
    )
    assert report.errors == []

    result = publish(
        publisher.sessions, publisher.dispatch, parse_policy(policy(), zone=publisher.settings.zone)
    )
    assert result.trigger_id is not None
    follow(publisher.sessions, result.trigger_id, show=False, timeout=60)

    with publisher.sessions() as session:
        counts = status_counts(session, DeliveryFilter(trigger_id=result.trigger_id))
    assert counts == {"sent": 40}
    assert len(hooks.received) == 40
    takers = {int(pid) for pid in BATCH_DONE.findall(workers.output())}
    assert takers == set(workers.children), workers.output()


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
@ON_REDIS
def test_sigterm_stops_every_worker_process_within_seconds(start_workers):
    workers = start_workers(processes=2)

    began = time.monotonic()
    workers.parent.send_signal(signal.SIGTERM)
    status = workers.parent.wait(timeout=15)

    assert status == 0, workers.output()
    # Well inside the 15 s a supervisor (systemd, honcho) waits before it kills.
    assert time.monotonic() - began < 10
    assert all(gone(pid) for pid in workers.children)


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
@ON_REDIS
def test_a_worker_process_that_dies_stops_the_others_and_the_worker_exits_1(start_workers):
    workers = start_workers(processes=2)
    dead, other = workers.children

    os.kill(dead, signal.SIGKILL)
    status = workers.parent.wait(timeout=15)

    assert status == 1
    assert f"worker process {dead} exited unexpectedly" in workers.output()
    assert gone(other)


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
@ON_REDIS
def test_worker_processes_stop_when_their_parent_is_killed(start_workers):
    workers = start_workers(processes=2)

    workers.parent.send_signal(signal.SIGKILL)
    workers.parent.wait()

    wait_until(
        lambda: all(gone(pid) for pid in workers.children), timeout=10, what="orphans to stop"
    )


@ON_POSTGRES
def test_a_transient_failure_is_sent_again_after_its_backoff_through_rabbitmqs_delay_queue(
    database_url, rabbitmq_url, make_runtime
):
    with SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as gateway:
        runtime = make_runtime(
            database_url=database_url,
            broker_url=rabbitmq_url,
            sms={
                "provider": "http",
                "url": gateway.url,
                "app_key": SMS_KEY,
                "app_secret": SMS_SECRET,
            },
            delivery={"backoff_base_seconds": 0.5},
        )
        report = import_enterprises(
            runtime.sessions, io.StringIO(enterprise_csv([Firm(1, channels="sms")])), dry_run=False
        )
        assert report.errors == []
        gateway.fail_next(503)
        worker = start_worker(runtime.queue.broker, threads=2)
        try:
            publish(
                runtime.sessions,
                runtime.dispatch,
                parse_policy(policy(), zone=runtime.settings.zone),
            )

            def delivered() -> Delivery | None:
                with runtime.sessions() as session:
                    row = session.scalars(select(Delivery)).one_or_none()
                    return row if row is not None and row.status == "sent" else None

            delivery = wait_until(delivered, timeout=30, what="the retried delivery")
        finally:
            worker.stop()

    assert delivery.attempts == 2
    assert len(gateway.messages) == 1


def test_broker_url_names_redis_or_rabbitmq_and_wins_over_redis_url(tmp_path):
    def settings(**values: Any):
        return load_settings(config_dir=tmp_path / "none", **values)

    assert settings().embedded
    assert settings(redis_url="redis://h:6379/0").broker_kind == "redis"
    both = settings(redis_url="redis://h:6379/0", broker_url="amqp://u:p@h:5672/v")
    assert (both.broker, both.broker_kind, both.embedded) == (
        "amqp://u:p@h:5672/v",
        "rabbitmq",
        False,
    )
    assert both.broker_setting == "NOTIFIER_BROKER_URL"
    assert settings(broker_url="rediss://h:6380/0").broker_kind == "redis"
    with pytest.raises(ConfigError, match="NOTIFIER_BROKER_URL.*amqp://"):
        settings(broker_url="http://h:5672/")


@pytest.mark.multiprocess
def test_an_unreachable_rabbitmq_is_one_line_naming_notifier_broker_url_without_its_password(
    tmp_path,
):
    database_url = f"sqlite:///{tmp_path / 'n.db'}"
    migrate.upgrade(database_url)
    environment = {
        "PATH": "/usr/bin:/bin",
        "NOTIFIER_CONFIG_DIR": str(tmp_path / "none"),
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_BROKER_URL": "amqp://guest:hunter2@127.0.0.1:1/%2F",
    }
    done = subprocess.run(
        [str(NOTIFIER), "worker", "--processes", "2"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "NOTIFIER_BROKER_URL (amqp://***@127.0.0.1:1/%2F)" in done.stderr
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _campaign_on(publisher: Runtime, firms: int, per_minute: int) -> int:
    """A campaign of ``firms`` SMS recipients, due now and throttled; its run made and queued."""
    from notifier.inputs.campaign_file import parse_campaign
    from notifier.jobs.clock import scan_campaign_runs
    from notifier.services.campaigns.operations import create_campaign

    csv_text = enterprise_csv([Firm(n, channels="sms") for n in range(1, firms + 1)])
    import_enterprises(publisher.sessions, io.StringIO(csv_text), dry_run=False)
    zone = publisher.settings.zone
    now = publisher.time_source.now()
    data = {
        "name": "paced", "title": "限速活动", "channels": ["sms"],
        "templates": {"sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}"}},
        "schedule": {"once_at": now.astimezone(zone).isoformat()},
        "throttle_per_minute": per_minute,
    }  # fmt: skip
    draft = parse_campaign(data, zone=zone, now=now)
    campaign_id = create_campaign(acting(publisher), draft)
    assert len(scan_campaign_runs(publisher)) == 1
    return campaign_id


def _sent_times(publisher: Runtime) -> list[Any]:
    with publisher.sessions() as session:
        return sorted(session.scalars(select(Delivery.sent_at).where(Delivery.status == "sent")))


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
@ON_REDIS
def test_two_workers_send_a_throttled_campaign_no_faster_than_its_rate(start_workers, publisher):
    start_workers(processes=2)
    _campaign_on(publisher, firms=10, per_minute=120)  # 2 every second
    wait_until(lambda: len(_sent_times(publisher)) == 10, timeout=60, what="10 sends")
    sent = _sent_times(publisher)
    # Batches of 2 queued for 0, 1, 2, 3, 4 s after the fan-out: the k-th pair goes no earlier
    # than k seconds after it. The first pair may itself go late (a worker picking it up), so
    # measured from the first send the bound is one slot looser.
    for k in range(5):
        assert (sent[2 * k] - sent[0]).total_seconds() >= k - 1, sent
    assert (sent[-1] - sent[0]).total_seconds() >= 3, sent


@pytest.mark.slow
@pytest.mark.multiprocess
@ON_POSTGRES
@ON_REDIS
def test_a_campaign_paused_under_real_workers_sends_nothing_more_and_resume_finishes_it(
    start_workers, publisher
):
    from notifier.services.campaigns.operations import pause, resume

    start_workers(processes=2)
    campaign_id = _campaign_on(publisher, firms=8, per_minute=60)  # one a second
    wait_until(lambda: len(_sent_times(publisher)) >= 2, timeout=60, what="the first sends")
    pause(acting(publisher), campaign_id)
    paused_at = publisher.time_source.now()

    def settled() -> dict[str, int] | None:
        with publisher.sessions() as session:
            counts = status_counts(session)
        return counts if set(counts) <= {"sent", "deferred"} else None

    # Every batch still waiting in the broker reaches a worker and is held, not sent.
    wait_until(lambda: paused_at.timestamp() + 8 < time.time(), timeout=15, what="the schedule")
    counts = wait_until(settled, timeout=30, what="the held deliveries")
    late = [t for t in _sent_times(publisher) if (t - paused_at).total_seconds() > 1]
    assert late == [] and counts["sent"] + counts["deferred"] == 8

    resume(acting(publisher), campaign_id)
    wait_until(lambda: len(_sent_times(publisher)) == 8, timeout=60, what="the rest sent")
