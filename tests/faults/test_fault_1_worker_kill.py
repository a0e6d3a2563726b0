"""Scenario 1: a ``notifier worker`` killed with ``kill -9`` mid-run, then restarted.

10,000 webhook deliveries (quick: 500) through real ``notifier worker`` and ``notifier clock``
processes on PostgreSQL and Redis, to a loopback receiver that verifies every signature. The
worker is killed while sending, several times in the full run, and started again at once.

Promised: every delivery ends ``sent``, none is lost, a delivery repeats only when its worker
died between sending and recording it, and then under its original ``webhook-id``; the work a
dead worker held is back in the flow within two sweep intervals.
"""

from __future__ import annotations

import time

import pytest
import redis

from faults import harness
from faults.harness import Deployment, Figures, scaled

from support.peers import CountingWebhookReceiver
from support.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiprocess,
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
]

DELIVERIES = scaled(500, 10_000)
KILL_AT = [0.3] if harness.SCALE == "quick" else [0.2, 0.45, 0.7]  # fractions sent
BATCH = 50
STUCK_AFTER = 5.0  # well above one send and its record even on a loaded machine: a live
# send re-queued by the sweeper would go twice (seen at 2 s with 2 CPUs and a concurrent suite)
SWEEP_INTERVAL = 5.0


def test_a_worker_killed_mid_run_loses_nothing_and_repeats_only_what_it_had_in_flight(
    processes, database, shared_redis
):
    redis_url, namespace = shared_redis
    figures = Figures("1 worker kill -9")
    started = time.monotonic()
    with CountingWebhookReceiver(secret=harness.WEBHOOK_SECRET) as receiver:
        env = harness.notifier_environment(
            database_url=database,
            redis_url=redis_url,
            namespace=namespace,
            var_dir=processes.log_dir / "var",
            delivery__batch_size=BATCH,
            delivery__stuck_after_seconds=STUCK_AFTER,
            clock__sweep_interval_seconds=SWEEP_INTERVAL,
            clock__scan_interval_seconds=SWEEP_INTERVAL,
        )
        app = Deployment(processes, env, database)
        client = redis.Redis.from_url(redis_url)
        try:
            app.migrate()
            app.import_firms(DELIVERIES, receiver.url)
            app.clock()
            worker = app.worker()
            app.publish("faults-worker-kill")
            in_flight: set[int] = set()
            recoveries = []
            for fraction in KILL_AT:
                wait_until(
                    lambda f=fraction: app.store.counts().get("sent", 0) >= f * DELIVERIES,
                    timeout=600,
                    what=f"{fraction:.0%} of the deliveries to be sent",
                    every=0.05,
                )
                worker.kill9()
                killed = time.monotonic()
                statuses = app.store.statuses()  # as the dead worker left them
                sending = {i for i, s in statuses.items() if s == "sending"}
                held = sending | (
                    harness.unacked_delivery_ids(client, namespace)
                    - {i for i, s in statuses.items() if s in harness.FINAL}
                )
                in_flight |= sending
                worker = app.worker()
                recoveries.append(_recovery(app, held, killed))
            app.wait_all_final(DELIVERIES, timeout=900)
            figures.seconds = time.monotonic() - started
            repeated = harness.check_webhooks(app.store, receiver.counts, receiver.paths, figures)
            app.assert_no_secrets()
        except BaseException:
            print(processes.logs())
            raise
        finally:
            client.close()
            app.close()
    figures.recover_seconds = max(back for back, _ in recoveries)
    figures.extra = {
        "kills": len(KILL_AT),
        "in_flight_at_kills": len(in_flight),
        "held_final_seconds": round(max(done for _, done in recoveries), 2),
        "note": f"sweep every {SWEEP_INTERVAL:g}s, stuck after {STUCK_AFTER:g}s",
    }
    figures.record()
    # A repeat is a delivery a worker died sending, and it came back under the same id.
    ids = app.store.message_ids()
    assert set(repeated) <= {ids[i][0] for i in in_flight}
    assert max(receiver.counts.values()) <= 1 + len(KILL_AT)
    # The promise (full scale): within 2 sweep intervals. The quick form runs inside `make test`
    # on a machine busy with the rest of the suite, so it allows one interval more.
    intervals = 2 if harness.SCALE == "full" else 3
    assert figures.recover_seconds <= intervals * SWEEP_INTERVAL + 1.0, recoveries


def _recovery(app: Deployment, held: set[int], killed: float) -> tuple[float, float]:
    """Seconds from the kill until everything the dead worker held is back in the flow
    (queued again after the kill, or final), and until all of it is final."""
    if not held:
        return 0.0, 0.0
    marks = ",".join(str(i) for i in sorted(held))
    query = harness.sa.text(
        "SELECT status, coalesce(greatest(queued_at, claimed_at) >= now() - make_interval("
        f"secs => :age), false) FROM deliveries WHERE id IN ({marks})"
    )
    back_at: float | None = None
    deadline = killed + 600
    while time.monotonic() < deadline:
        age = time.monotonic() - killed
        with app.store.engine.connect() as connection:
            rows = connection.execute(query, {"age": age}).all()
        final = [status in harness.FINAL for status, _ in rows]
        if back_at is None and all(status in harness.FINAL or again for status, again in rows):
            back_at = time.monotonic() - killed
        if all(final):
            return back_at or 0.0, time.monotonic() - killed
        time.sleep(0.1)
    raise TimeoutError(f"the {len(held)} deliveries the killed worker held never ended")
