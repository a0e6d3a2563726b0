"""Scenario 4: providers that fail: HTTP 500, answers that hang past the timeout, connections
closed without an answer.

The receiver answers about 30% of requests with HTTP 500, 5% only after the sender's timeout
and 5% by closing the connection without a word; no webhook-id is failed more than three times
in a row, and ``max_attempts`` leaves room for that, so every delivery can end ``sent``.

Promised: transient failures are retried with backoff until they succeed; every delivery ends
``sent``, none is lost, none arrives twice (a faulted request is never accepted).
"""

from __future__ import annotations

import time

import pytest

from faults import harness
from faults.harness import Deployment, Figures, scaled

from support.peers import CountingWebhookReceiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiprocess,
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
]

DELIVERIES = scaled(300, 2_000)
FAULTS = {"500": 0.30, "hang": 0.05, "close": 0.05}
MAX_FAULTS_PER_ID = 3
MAX_ATTEMPTS = 8  # more than MAX_FAULTS_PER_ID + 1: every delivery gets through
TIMEOUT = 0.5
HANG = 1.5  # past the timeout


def test_failing_providers_are_retried_until_every_delivery_is_sent(
    processes, database, shared_redis
):
    redis_url, namespace = shared_redis
    figures = Figures("4 provider 500 / hang / close")
    started = time.monotonic()
    receiver = CountingWebhookReceiver(
        secret=harness.WEBHOOK_SECRET,
        fault_rates=FAULTS,
        max_faults_per_id=MAX_FAULTS_PER_ID,
        hang_seconds=HANG,
    )
    with receiver:
        env = harness.notifier_environment(
            database_url=database,
            redis_url=redis_url,
            namespace=namespace,
            var_dir=processes.log_dir / "var",
            webhook__timeout=TIMEOUT,
            delivery__batch_size=50,
            delivery__max_attempts=MAX_ATTEMPTS,
            delivery__backoff_base_seconds=0.2,
            delivery__backoff_max_seconds=2,
            delivery__stuck_after_seconds=3,
            clock__sweep_interval_seconds=2,
            clock__scan_interval_seconds=2,
        )
        app = Deployment(processes, env, database)
        try:
            app.migrate()
            app.import_firms(DELIVERIES, receiver.url)
            app.clock()
            app.worker(threads=8)
            app.publish("faults-flaky-providers")
            app.wait_all_final(DELIVERIES, timeout=900)
            figures.seconds = time.monotonic() - started
            repeated = harness.check_webhooks(app.store, receiver.counts, receiver.paths, figures)
            with app.store.engine.connect() as connection:
                attempts = connection.scalar(
                    harness.sa.text("SELECT count(*) FROM delivery_attempts")
                )
            app.assert_no_secrets()
        except BaseException:
            print(processes.logs())
            raise
        finally:
            app.close()
    given = dict(receiver.faults_given)
    figures.extra = {
        "faults": given,
        "attempts": attempts,
        "extra_attempts": attempts - DELIVERIES - sum(given.values()),
        "note": f"{sum(given.values())} faults answered: "
        + ", ".join(f"{n} {k}" for k, n in sorted(given.items())),
    }
    figures.record()
    assert not repeated
    assert given.get("500") and given.get("hang") and given.get("close"), given
    # Each fault costs one attempt; a hang that kept its row `sending` past stuck_after on a
    # loaded machine may be swept and tried once more (seen: 1 in 3,343), never sent twice.
    assert DELIVERIES + sum(given.values()) <= attempts <= DELIVERIES + 1.02 * sum(given.values())
