"""Scenario 6: poison triggers.

Two triggers no fan-out can handle, found by the clock's sweep and handed to a real worker:
one of a kind nothing handles (``mystery``), failed at its first run, and one whose policy row
is corrupt (its sector targets are a number), which raises on every run and is failed after
``delivery.fan_out_max_attempts`` runs.

Promised: each ends ``failed`` with its reason kept, and is not retried afterwards.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from faults import harness
from faults.harness import Deployment, Figures

from support.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiprocess,
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
]

FAN_OUT_MAX_ATTEMPTS = 3
SWEEP_INTERVAL = 1.0

_TRIGGER = sa.text(
    "INSERT INTO triggers (key, kind, policy_id, due_at, status, recipients, attempts, "
    "created_at, heartbeat_at) VALUES (:key, :kind, :policy_id, now(), 'pending', 0, 0, now(), "
    "now() - interval '1 hour')"
)


def _triggers(store: harness.Store) -> dict[str, tuple[str, int, str | None]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT key, status, attempts, error FROM triggers"))
        return {key: (status, attempts, error) for key, status, attempts, error in rows}


def test_poison_triggers_end_failed_with_their_reason_and_are_not_retried(
    processes, database, shared_redis
):
    redis_url, namespace = shared_redis
    figures = Figures("6 poison trigger")
    started = time.monotonic()
    env = harness.notifier_environment(
        database_url=database,
        redis_url=redis_url,
        namespace=namespace,
        var_dir=processes.log_dir / "var",
        delivery__fan_out_max_attempts=FAN_OUT_MAX_ATTEMPTS,
        delivery__stuck_after_seconds=1,
        clock__sweep_interval_seconds=SWEEP_INTERVAL,
        clock__scan_interval_seconds=SWEEP_INTERVAL,
    )
    app = Deployment(processes, env, database)
    try:
        app.migrate()
        app.import_firms(5, "http://127.0.0.1:9/hooks/notifier")
        # Due in 2099: the clock's scan leaves it alone; only our triggers point at it.
        app.publish("faults-poison", published_at="2099-01-01T09:00")
        with app.store.engine.begin() as connection:
            policy_id = connection.scalar(sa.text("SELECT id FROM policies"))
            connection.execute(
                sa.text("UPDATE policies SET target_sectors = '123' WHERE id = :id"),
                {"id": policy_id},
            )
            connection.execute(_TRIGGER, {"key": "mystery:1", "kind": "mystery", "policy_id": None})
            connection.execute(
                _TRIGGER, {"key": "poison:1", "kind": "policy_published", "policy_id": policy_id}
            )
        app.clock()
        app.worker()
        ended = wait_until(
            lambda: (t := _triggers(app.store))
            and all(status == "failed" for status, _, _ in t.values())
            and t,
            timeout=120,
            what="both poison triggers to fail",
            every=0.2,
        )
        failed_after = time.monotonic() - started
        time.sleep(5 * SWEEP_INTERVAL)  # sweeps and dramatiq retries would show up by now
        later = _triggers(app.store)
        app.assert_no_secrets()
    except BaseException:
        print(processes.logs())
        raise
    finally:
        app.close()
    figures.seconds = time.monotonic() - started
    figures.recover_seconds = failed_after
    figures.extra = {
        "triggers": 2,
        "note": f"mystery: {ended['mystery:1'][1]} run, corrupt policy: {ended['poison:1'][1]} "
        "runs, then failed; recover s = until both failed",
    }
    figures.record()
    assert later == ended  # nothing ran them again
    status, attempts, error = ended["mystery:1"]
    assert attempts == 1 and "mystery" in (error or ""), ended
    status, attempts, error = ended["poison:1"]
    assert attempts == FAN_OUT_MAX_ATTEMPTS, ended
    assert error and error.startswith(f"gave up after {FAN_OUT_MAX_ATTEMPTS} fan-out attempts")
    assert "TypeError" in error, error
