"""8 scaling: the 1 webhook publication with 1, 2 and 4 worker processes on one database and
one broker, and where its limit was.

Each worker is a ``notifier worker --threads T`` process of its own, as two machines would run
them (what ``notifier worker --processes N`` starts on one machine is the same). Within each
repetition the receiver's capacity is measured first, then every process count in turn, each
publishing to the same N firms (a new policy each time). Beside each publication, the CPU
seconds of each group of processes from the publish command's return to the last delivery
`sent`: the workers, the PostgreSQL processes serving the bench's database (and the server's
background writers), Redis, the receiver, the clock and the bench itself; "other" is what the
machine spent outside them (other load on a shared machine).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

import sqlalchemy as sa

from bench.cpu import CpuMeter, Usage, postgres_pids, redis_pids
from bench.scenarios import (
    Bench,
    publish,
    receiver_capacity,
    region,
    wait_delivered,
)
from bench.services import Notifier, Process, RedisNamespace, delivery_counts, policy_stored_at

Pids = Callable[[], Iterable[int]]
GROUPS = ("workers", "postgres", "redis", "receiver", "clock", "bench")
TABLE = "8 scaling: deliveries/s and CPU (cores busy) per process group"
HEADER = [
    "run",
    "worker processes",
    "deliveries/s",
    "× 1 process",
    "receiver capacity/s",
    "machine",
    *GROUPS,
    "other",
    "limit",
]


def limit(usage: Usage, *, rate: float, capacity: float, nproc: int) -> str:
    """Where the run's limit was, in a few words, from its CPU and the receiver's capacity."""
    if rate >= 0.8 * capacity:
        return f"the receiver ({rate / capacity:.0%} of its capacity)"
    shares = {group: usage.cores(group) for group in GROUPS}
    shares["other load on the machine"] = usage.other / usage.seconds
    busiest = max(shares, key=lambda group: shares[group])
    if usage.machine_cores >= 0.9 * nproc:
        return f"CPU: all {nproc} cores busy, most in {busiest} ({shares[busiest]:.2f})"
    return (
        f"not CPU ({usage.machine_cores:.2f} of {nproc} cores): waiting on round trips or "
        f"locks; busiest {busiest}"
    )


def _workers(bench: Bench, notifier: Notifier, count: int) -> list[Process]:
    threads = str(bench.sizes.threads)
    workers = [
        notifier.spawn("worker", "--threads", threads, name=f"scale{count}-{i}")
        for i in range(count)
    ]
    for worker in workers:
        worker.wait_for("consuming")
    return workers


def _one(
    bench: Bench,
    notifier: Notifier,
    engine: sa.Engine,
    meter_groups: dict[str, Pids],
    count: int,
) -> tuple[float, Usage]:
    """Publish to the 1 webhook firms with ``count`` worker processes: (deliveries/s, CPU)."""
    n, peer = bench.sizes.deliveries, bench.http
    workers = _workers(bench, notifier, count)
    try:
        peer.reset("wh")
        sent_before = delivery_counts(engine).get("sent", 0)
        groups: dict[str, Pids] = {
            **meter_groups,
            "workers": lambda: [w.popen.pid for w in workers],
        }
        meter = CpuMeter(groups, time.time)
        published = publish(notifier, {"regions": [region("wh")]}, "wh")
        meter.start()
        _, done = wait_delivered(engine, peer, "wh", count=n, sent_before=sent_before)
        usage = meter.stop()
        stored = policy_stored_at(engine, int(published["id"]))
        for worker in workers:
            bench.results.add(
                "6 memory",
                "peak RSS worker",
                "MB",
                worker.peak_rss_kb() / 1024,
                key="memory.worker",
            )
        return n / (done - stored), usage
    finally:
        for worker in workers:
            worker.stop()


def scaling_runs(
    bench: Bench, notifier: Notifier, engine: sa.Engine, clock: Process, namespace: RedisNamespace
) -> None:
    """8: for each repetition, the receiver's capacity, then 1, 2 and 4 worker processes."""
    n = bench.sizes.deliveries
    section = f"8 scaling ({n:,} webhooks, PostgreSQL + Redis)"
    nproc = len(os.sched_getaffinity(0))
    meter_groups: dict[str, Pids] = {
        "postgres": lambda: postgres_pids(engine),
        "redis": lambda: redis_pids(namespace.url),
        "receiver": lambda: [bench.http.pid],
        "clock": lambda: [clock.popen.pid],
        "bench": lambda: [os.getpid()],
    }
    rows = bench.results.table_rows(TABLE, HEADER)
    counts = bench.sizes.scaling
    for run in range(bench.sizes.runs):
        bench.log(f"scaling run {run + 1}: receiver capacity, then {counts} worker processes")
        capacity = receiver_capacity(bench.http, "cap", n)
        bench.results.add(section, "receiver capacity", "requests/s", capacity)
        rates: dict[int, float] = {}
        for count in counts:
            rate, usage = _one(bench, notifier, engine, meter_groups, count)
            rates[count] = rate
            processes = f"{count} worker process" + ("es" if count > 1 else "")
            bench.results.add(
                section,
                processes,
                "deliveries/s",
                rate,
                f"× {bench.sizes.threads} threads; stored → all sent; CPU: the table 8 below",
            )
            ratio = rate / rates[counts[0]]
            if count != counts[0]:
                bench.results.add(
                    section,
                    f"ratio {count} / {counts[0]} processes",
                    "×",
                    ratio,
                    key=f"scaling.ratio{count}",
                )
            rows.append(
                [
                    str(run + 1),
                    str(count),
                    f"{rate:,.0f}",
                    f"{ratio:.2f}",
                    f"{capacity:,.0f}",
                    f"{usage.machine_cores:.2f} of {nproc}",
                    *(f"{usage.cores(group):.2f}" for group in GROUPS),
                    f"{usage.other / usage.seconds:.2f}",
                    limit(usage, rate=rate, capacity=capacity, nproc=nproc),
                ]
            )
