"""1, 5, 6 and 8: delivery on PostgreSQL + Redis, side by side with the peers' own loops.

One database and one Redis namespace for all of it; the enterprises of each scenario live in a
street of their own (``region(bucket)``), so a publication to that street reaches exactly them.
Each repetition runs, in turn: 1 webhook (bare loop, Apprise, the receiver's capacity,
notifier), 1 email (bare smtplib loop, notifier), 5 publish → last (a bare loop process,
``notifier policies publish``). Then 6 records the workers' peak RSS and 8 runs the 1 webhook
publication again with 1, 2 and 4 worker processes, CPU per process group beside it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bench.data import Group, write_enterprises, write_policy
from bench.peers import bare_webhook_loop, write_bodies
from bench.scaling import scaling_runs
from bench.scenarios import (
    WARM,
    Bench,
    apprise_loop,
    bare_smtp_loop,
    check_peer,
    publish,
    publish_and_wait,
    receiver_capacity,
    region,
    wait_delivered,
    wait_for,
    webhook_bodies,
)
from bench.services import Notifier, Process, RedisNamespace, delivery_counts, policy_stored_at


@dataclass
class DeliveryRig:
    notifier: Notifier
    engine: sa.Engine
    processes: dict[str, Process]
    webhook_bodies: list[tuple[bytes, dict[str, str]]]
    email_samples: list[dict[str, Any]]
    namespace: RedisNamespace


def delivery_scenarios(bench: Bench) -> None:
    sizes = bench.sizes
    namespace = RedisNamespace()
    with bench.postgres.database() as url:
        notifier = Notifier(
            bench.folder / "pg",
            {
                "NOTIFIER_DATABASE_URL": url,
                "NOTIFIER_REDIS_URL": namespace.url,
                "NOTIFIER_REDIS_NAMESPACE": namespace.name,
                **bench.channel_settings(),
            },
        )
        notifier.run("db", "upgrade")
        n, lat = sizes.deliveries, sizes.latency
        groups = [
            Group(
                range(1, WARM + 1),
                region("warm"),
                "webhook;email",
                bench.hook_url("warm"),
                "warm.example.com",
            ),
            Group(range(1_000_000, 1_000_000 + n), region("wh"), "webhook", bench.hook_url("wh")),
            Group(
                range(2_000_000, 2_000_000 + n),
                region("em"),
                "email",
                mail_domain="em.example.com",
            ),
            Group(
                range(3_000_000, 3_000_000 + lat), region("lat"), "webhook", bench.hook_url("lat")
            ),
        ]
        bench.log(f"PostgreSQL + Redis: importing {2 * n + lat + WARM} enterprises")
        notifier.run(
            "enterprises", "import", str(write_enterprises(notifier.folder / "e.csv", *groups))
        )
        processes = {
            f"worker {i + 1}": notifier.spawn(
                "worker", "--threads", str(sizes.threads), name=f"worker{i}"
            )
            for i in range(sizes.workers)
        }
        processes["clock"] = notifier.spawn("clock", name="clock")
        engine = sa.create_engine(url)
        try:
            for name, process in processes.items():
                process.wait_for("clock running" if name == "clock" else "consuming")
            rig = _warm_up(bench, notifier, engine, processes, namespace)
            for run in range(sizes.runs):
                _webhook_run(bench, rig, run)
                _email_run(bench, rig, run)
                _publish_run(bench, rig, run)
            for name, process in processes.items():
                bench.results.add(
                    "6 memory",
                    f"peak RSS {name.split()[0]}",
                    "MB",
                    process.peak_rss_kb() / 1024,
                    "VmHWM of each process after all runs of 1 and 5, and of each worker of 8",
                    key="memory.worker" if name.startswith("worker") else "",
                )
            for name in [name for name in processes if name.startswith("worker")]:
                processes.pop(name).stop()  # 8 starts its own
            scaling_runs(bench, rig.notifier, engine, processes["clock"], namespace)
        finally:
            for process in processes.values():
                process.stop()
            engine.dispose()
            namespace.delete()


def _warm_up(
    bench: Bench,
    notifier: Notifier,
    engine: sa.Engine,
    processes: dict[str, Process],
    namespace: RedisNamespace,
) -> DeliveryRig:
    """One small publication: starts the workers' connections and yields sample messages."""
    bench.log("warm-up publication")
    publish(notifier, {"regions": [region("warm")]}, "warm")
    wait_delivered(engine, bench.http, "warm", count=WARM, sent_before=0)
    wait_for(lambda: delivery_counts(engine).get("sent", 0) >= 2 * WARM, timeout=60, what="warm-up")
    bench.webhook_bodies = webhook_bodies(bench.http.samples("warm"))
    return DeliveryRig(
        notifier,
        engine,
        processes,
        webhook_bodies(bench.http.samples("warm")),
        bench.smtp.samples("warm"),
        namespace,
    )


def _webhook_run(bench: Bench, rig: DeliveryRig, run: int) -> None:
    n, port = bench.sizes.deliveries, bench.http.port
    section = f"1 webhook ({n:,} firms, PostgreSQL + Redis)"
    bench.log(f"webhook run {run + 1}: bare loop, Apprise, receiver capacity, notifier ({n} each)")
    bench.http.reset("bare")
    bare = bare_webhook_loop(port, "bare", rig.webhook_bodies, n)
    check_peer(bench.http, "bare", n)
    bench.http.reset("apprise")
    body = rig.webhook_bodies[0][0].decode()
    via_apprise = apprise_loop(port, "apprise", body, n)
    check_peer(bench.http, "apprise", n, distinct=False)
    capacity = receiver_capacity(bench.http, "cap", n)
    started, _, done = publish_and_wait(rig.notifier, rig.engine, bench.http, "wh", n)
    rate = n / (done - started)
    results = bench.results
    results.add(
        section,
        "notifier",
        "deliveries/s",
        rate,
        f"{bench.sizes.workers} worker processes × {bench.sizes.threads} threads; "
        "policy stored → every delivery `sent` in the database",
    )
    first = bench.http.stats("wh")["first"]
    results.add(
        section,
        "notifier, sending only",
        "deliveries/s",
        n / (done - first),
        "first message at the receiver → all sent",
    )
    results.add(
        section, "(a) bare requests loop", "deliveries/s", bare, "1 thread, same bodies, in-process"
    )
    results.add(section, "(b) Apprise json://", "deliveries/s", via_apprise)
    results.add(section, "(c) receiver capacity", "requests/s", capacity, "2 processes × 4 threads")
    results.add(section, "ratio notifier / bare", "×", rate / bare, key="webhook.ratio_bare")
    results.add(
        section, "ratio notifier / Apprise", "×", rate / via_apprise, key="webhook.ratio_apprise"
    )


def _email_run(bench: Bench, rig: DeliveryRig, run: int) -> None:
    n = bench.sizes.deliveries
    section = f"1 email ({n:,} firms, PostgreSQL + Redis, SMTP)"
    bench.log(f"email run {run + 1}: bare smtplib loop, notifier ({n} each)")
    bench.smtp.reset("bare")
    bare = bare_smtp_loop(bench.smtp.port, "bare", rig.email_samples, n)
    check_peer(bench.smtp, "bare", n)
    started, _, done = publish_and_wait(rig.notifier, rig.engine, bench.smtp, "em", n)
    rate = n / (done - started)
    bench.results.add(section, "notifier", "messages/s", rate, "stored → all sent")
    bench.results.add(section, "(a) bare smtplib loop", "messages/s", bare, "1 connection")
    bench.results.add(section, "ratio notifier / bare", "×", rate / bare, key="email.ratio")


def _bare_process(bench: Bench, rig: DeliveryRig, bucket: str, count: int) -> float:
    """The bare loop as a process of its own; seconds from its start to the last message."""
    bodies = write_bodies(bench.folder / "bodies.json", rig.webhook_bodies)
    bench.http.reset(bucket)
    argv = [sys.executable, "-m", "bench.peers", "bare", str(bench.http.port), bucket]
    started = time.time()
    subprocess.run([*argv, str(count), str(bodies)], check=True)
    check_peer(bench.http, bucket, count)
    return float(bench.http.stats(bucket)["last"]) - started


def _publish_run(bench: Bench, rig: DeliveryRig, run: int) -> None:
    """5: the whole `notifier policies publish` command timed from outside, as a user sees it.

    t0 is taken just before the command's process starts (its own start-up counts); the end is
    the last message at the receiver. The bare loop is timed the same way: a process started at
    t0 that posts the same bodies one after another. 'Stored' is the policy row's ``created_at``
    (written in the publish transaction, just before its commit).
    """
    n, peer = bench.sizes.latency, bench.http
    section = f"5 publish → last message ({n:,} webhooks, PostgreSQL + Redis)"
    bench.log(f"publish run {run + 1}: a bare loop process, `notifier policies publish` ({n} each)")
    bare = _bare_process(bench, rig, "lbare", n)
    peer.reset("lat")
    sent_before = delivery_counts(rig.engine).get("sent", 0)
    policy = write_policy(
        rig.notifier.folder / "lat.json", targets={"regions": [region("lat")]}, label="lat"
    )
    t0 = time.time()
    published = rig.notifier.json("policies", "publish", str(policy))
    returned = time.time()
    wait_delivered(rig.engine, peer, "lat", count=n, sent_before=sent_before)
    stored = policy_stored_at(rig.engine, int(published["id"]))
    stats = peer.stats("lat")
    last = float(stats["last"]) - t0
    add = bench.results.add
    note = "t0: just before the `notifier policies publish` process starts"
    add(section, "command started → last message", "s", last, note, key="publish.last")
    add(section, "command started → first message", "s", float(stats["first"]) - t0)
    add(
        section,
        "stored → first message",
        "s",
        float(stats["first"]) - stored,
        "stored: the policy row's created_at (in the publish transaction)",
        key="publish.first",
    )
    add(section, "stored → last message", "s", float(stats["last"]) - stored)
    add(section, "command started → stored", "s", stored - t0, "the command's start-up")
    add(section, "command started → command exited", "s", returned - t0)
    add(section, "notifier", "deliveries/s", n / last, "n / (last − t0)")
    add(
        section,
        "(a) bare requests loop, as a process",
        "deliveries/s",
        n / bare,
        f"its start → last message: {bare:.2f} s",
    )
    add(section, "ratio notifier / bare", "×", bare / last, key="publish.ratio")
