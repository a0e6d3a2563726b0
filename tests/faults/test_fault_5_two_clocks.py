"""Scenario 5: two clocks, one killed with ``kill -9`` at random moments and started again.

Two ``notifier clock`` processes share a database; every ~100 ms the test samples ``pg_locks``
for the clock's advisory lock (``0x6E6F7469``) and, from the clocks' logs afterwards, when each
one believed it led ("this clock is the leader" until it died or lost the lock). Meanwhile
policies are published due a few seconds ahead, so only a leading clock's scan sends them.

Promised: at every moment at most one clock holds the lock and at most one believes it leads;
every policy is still sent to every enterprise. The run lasts ``NOTIFIER_FAULTS_CLOCK_SECONDS``
(quick 20 s, full 600 s).
"""

from __future__ import annotations

import random
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from faults import harness
from faults.harness import Deployment, Figures

from support.peers import CountingWebhookReceiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiprocess,
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
]

LOCK_KEY = 0x6E6F7469
FIRMS = 10
PUBLISH_EVERY = 4.0
DUE_IN = 3.0
CLOCK_INTERVAL = 1.0
_HOLDERS = sa.text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*?(this clock is the leader|lost the clock lock)"
)


class Sampler(threading.Thread):
    """Samples who holds the clock lock every ~100 ms until stopped."""

    def __init__(self, store: harness.Store) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.samples: list[tuple[float, list[str]]] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with self.store.engine.connect() as connection:
            while not self.stop.wait(0.1):
                try:
                    holders = [row[0] for row in connection.execute(_HOLDERS, {"key": LOCK_KEY})]
                    connection.rollback()
                except sa.exc.DBAPIError:
                    self.errors += 1
                    continue
                self.samples.append((time.time(), holders))


class Publisher(threading.Thread):
    """Publishes a policy due DUE_IN seconds ahead every PUBLISH_EVERY seconds, until the end."""

    def __init__(self, app: Deployment, *, run_until: float) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.run_until = run_until
        self.published = 0

    def run(self) -> None:
        while time.monotonic() < self.run_until:
            due = datetime.now(UTC) + timedelta(seconds=DUE_IN)
            self.app.publish(f"faults-clock-{self.published}", published_at=due.isoformat())
            self.published += 1
            time.sleep(PUBLISH_EVERY)


def _leading(process: harness.Process, ended: float) -> list[tuple[float, float]]:
    """When the clock believed it led: from each "leader" line to a "lost" line or its end."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for line in process.log.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        moment = time.mktime(time.strptime(match[1], "%Y-%m-%d %H:%M:%S")) + int(match[2]) / 1000
        if match[3] == "this clock is the leader":
            start = moment if start is None else start
        elif start is not None:
            spans.append((start, moment))
            start = None
    if start is not None:
        spans.append((start, ended))
    return spans


def test_two_clocks_with_one_killed_at_random_never_lead_together_and_the_work_completes(
    processes, database, shared_redis
):
    redis_url, namespace = shared_redis
    figures = Figures("5 two clocks, kill -9")
    rng = random.Random(5)
    started = time.monotonic()
    with CountingWebhookReceiver(secret=harness.WEBHOOK_SECRET) as receiver:
        env = harness.notifier_environment(
            database_url=database,
            redis_url=redis_url,
            namespace=namespace,
            var_dir=processes.log_dir / "var",
            delivery__stuck_after_seconds=3,
            clock__sweep_interval_seconds=CLOCK_INTERVAL,
            clock__scan_interval_seconds=CLOCK_INTERVAL,
        )
        app = Deployment(processes, env, database)
        sampler = Sampler(app.store)
        ended: dict[int, float] = {}  # id(process) -> when it was killed
        try:
            app.migrate()
            app.import_firms(FIRMS, receiver.url)
            app.worker()
            clocks = {name: app.clock(name, PGAPPNAME=name) for name in ("clock-a", "clock-b")}
            sampler.start()
            publisher = Publisher(app, run_until=time.monotonic() + harness.CLOCK_SECONDS)
            publisher.start()
            kills = 0
            while publisher.is_alive():
                time.sleep(rng.uniform(0.5, 4))
                name = rng.choice(sorted(clocks))
                ended[id(clocks[name])] = time.time()
                clocks[name].kill9()
                kills += 1
                time.sleep(rng.uniform(0, 1.5))
                clocks[name] = app.clock(name, PGAPPNAME=name)
            publisher.join()
            policies = publisher.published
            # Every policy published is due by now plus DUE_IN; the clocks must send them all.
            app.wait_all_final(policies * FIRMS, timeout=120)
            sampler.stop.set()
            sampler.join(timeout=10)
            figures.seconds = time.monotonic() - started
            repeated = harness.check_webhooks(app.store, receiver.counts, receiver.paths, figures)
            app.assert_no_secrets()
        except BaseException:
            print(processes.logs())
            raise
        finally:
            sampler.stop.set()
            app.close()
    stop_time = time.time()
    spans = sorted(
        (start, end, p.name)
        for p in processes.started
        if p.name.startswith("clock-")
        for start, end in _leading(p, ended.get(id(p), stop_time))
    )
    overlaps = [(a, b) for a, b in pairwise(spans) if b[0] < a[1]]
    handovers = [b[0] - a[1] for a, b in pairwise(spans)]
    most = max((len(h) for _, h in sampler.samples), default=0)
    figures.recover_seconds = max(handovers, default=0.0)
    figures.extra = {
        "policies": policies,
        "kills": kills,
        "leader_terms": len(spans),
        "samples": len(sampler.samples),
        "most_holders_in_a_sample": most,
        "note": f"{kills} kills, {len(spans)} leader terms, {len(sampler.samples)} lock samples, "
        f"max {most} holder; recover s = longest handover",
    }
    figures.record()
    assert most <= 1
    assert not overlaps, overlaps
    assert len(sampler.samples) >= harness.CLOCK_SECONDS * 5  # ~10 a second, loaded machine
    assert not repeated
    assert policies >= 2 and kills >= 2
