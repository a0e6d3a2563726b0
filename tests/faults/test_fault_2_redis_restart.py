"""Scenario 2: Redis killed mid-run and started again empty (no RDB, no AOF).

A private ``redis-server`` on a spare loopback port carries the queues; while the worker sends,
it is killed with ``kill -9`` and a fresh one is started on the same port. Every queued message
is gone; the database still knows every delivery, and the clock's sweeper queues them again.

Promised: every delivery ends ``sent``, none is lost, nothing repeats (no worker died).
"""

from __future__ import annotations

import time

import pytest

from faults import harness
from faults.harness import Deployment, Figures, PrivateRedis, scaled

from support.peers import CountingWebhookReceiver
from support.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiprocess,
    pytest.mark.faults,
    pytest.mark.postgres,
]

DELIVERIES = scaled(300, 3_000)
BATCH = 50
STUCK_AFTER = 2.0
SWEEP_INTERVAL = 2.0
DOWN_SECONDS = 2.0


def test_redis_restarted_empty_mid_run_loses_nothing(processes, database):
    figures = Figures("2 redis restart, data gone")
    started = time.monotonic()
    broker = PrivateRedis(processes)
    broker.start()
    with CountingWebhookReceiver(secret=harness.WEBHOOK_SECRET) as receiver:
        env = harness.notifier_environment(
            database_url=database,
            redis_url=broker.url,
            namespace="notifier-faults",
            var_dir=processes.log_dir / "var",
            delivery__batch_size=BATCH,
            delivery__stuck_after_seconds=STUCK_AFTER,
            clock__sweep_interval_seconds=SWEEP_INTERVAL,
            clock__scan_interval_seconds=SWEEP_INTERVAL,
        )
        app = Deployment(processes, env, database)
        try:
            app.migrate()
            app.import_firms(DELIVERIES, receiver.url)
            app.clock()
            app.worker()
            app.publish("faults-redis-restart")
            wait_until(
                lambda: app.store.counts().get("sent", 0) >= 0.3 * DELIVERIES,
                timeout=300,
                what="30% of the deliveries to be sent",
                every=0.05,
            )
            broker.kill9()
            at_kill = app.store.counts()
            time.sleep(DOWN_SECONDS)
            broker.start()
            back = time.monotonic()
            app.wait_all_final(DELIVERIES, timeout=600)
            figures.recover_seconds = time.monotonic() - back
            figures.seconds = time.monotonic() - started
            repeated = harness.check_webhooks(app.store, receiver.counts, receiver.paths, figures)
            app.assert_no_secrets()
        except BaseException:
            print(processes.logs())
            raise
        finally:
            app.close()
    figures.extra = {
        "unsent_at_kill": DELIVERIES - at_kill.get("sent", 0),
        "note": f"redis down {DOWN_SECONDS:g}s; recover s = new redis up to all sent; "
        f"sweep every {SWEEP_INTERVAL:g}s",
    }
    figures.record()
    assert not repeated
