"""The scenarios, run in one invocation so that every ratio compares runs of the same moment.

Each repetition interleaves notifier with its peers (bare loop, Apprise, the receiver's own
capacity), so a noisy neighbour slows both sides of a ratio alike.
"""

from __future__ import annotations

import base64
import json
import re
import smtplib
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apprise
import sqlalchemy as sa

from bench.data import PARK, Group, mixed_channel, region_of, write_enterprises, write_policy
from bench.peers import LOOPBACK, PeerProcess, bare_webhook_loop
from bench.report import Results
from bench.services import (
    Notifier,
    Postgres,
    RedisNamespace,
    delivery_counts,
    notifier_engine,
    policy_stored_at,
)

AUDIENCE_SECTOR = "C36"
AUDIENCE_REGION = f"{PARK}/大碶街道"
WARM = 20  # enterprises of the warm-up publication (webhook and email each)
# Headers the client library sets itself; the bare loop sends the rest as notifier did.
_OWN_HEADERS = {"host", "user-agent", "accept-encoding", "accept", "connection", "content-length"}
_MESSAGE_ID = re.compile(rb"^(message-id:)[^\r\n]*", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Sizes:
    deliveries: int  # N of the throughput scenarios
    latency: int
    imports: int
    fanout: int
    runs: int
    workers: int = 2
    threads: int = 8
    console_firms: int = 20_000  # 7 console: the register, and deliveries in the log
    console_deliveries: int = 100_000
    console_samples: int = 20  # requests per page and phase
    scaling: tuple[int, ...] = (1, 2, 4)  # worker processes of 8 scaling, each run


# Quick: one run of small sizes for throughput, import and fan-out, so that it stays within a
# few minutes on a loaded 2-core machine, but the issue's own 4,000 firms for 5 (publish → last);
# --deliveries, --imports, --fanout and --runs give more.
QUICK = Sizes(
    deliveries=2_000,
    latency=4_000,
    imports=10_000,
    fanout=10_000,
    runs=1,
    console_firms=5_000,
    console_deliveries=20_000,
    console_samples=10,
)
FULL = Sizes(deliveries=20_000, latency=4_000, imports=100_000, fanout=1_000_000, runs=3)


class Timeout(RuntimeError):
    pass


@dataclass
class Bench:
    sizes: Sizes
    results: Results
    folder: Path
    postgres: Postgres
    http: PeerProcess
    smtp: PeerProcess
    webhook_bodies: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def hook_url(self, bucket: str) -> str:
        return f"http://{LOOPBACK}:{self.http.port}/{bucket}/{{n}}"

    def channel_settings(self) -> dict[str, str]:
        return {
            "NOTIFIER_WEBHOOK__PROVIDER": "http",
            "NOTIFIER_EMAIL__PROVIDER": "smtp",
            "NOTIFIER_EMAIL__HOST": LOOPBACK,
            "NOTIFIER_EMAIL__PORT": str(self.smtp.port),
            "NOTIFIER_SMS__PROVIDER": "http",
            "NOTIFIER_SMS__URL": f"http://{LOOPBACK}:{self.http.port}/sms",
            "NOTIFIER_SMS__APP_KEY": "bench",
            "NOTIFIER_SMS__APP_SECRET": "bench-secret",
            # The bench measures sending: its policies go out at once, with no approver.
            "NOTIFIER_APPROVAL__ENABLED": "false",
        }


def region(name: str) -> str:
    """A street of its own per group of the bench's enterprises: what a publication targets."""
    return f"{PARK}/基准街道/{name}"


# --- waiting for notifier -------------------------------------------------------------------


def wait_for(check: Any, *, timeout: float, what: str, every: float = 0.05) -> float:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
    return time.time()


def wait_delivered(
    engine: sa.Engine, peer: PeerProcess, bucket: str, *, count: int, sent_before: int
) -> tuple[float, float]:
    """Wait until the peer has ``count`` distinct ids in ``bucket`` and the database has
    ``sent_before + count`` deliveries ``sent``; return both moments (time.time())."""
    timeout = 120 + count / 20
    at_peer = wait_for(
        lambda: peer.stats(bucket)["distinct"] >= count, timeout=timeout, what=f"{bucket} at peer"
    )
    at_db = wait_for(
        lambda: delivery_counts(engine).get("sent", 0) >= sent_before + count,
        timeout=60,
        what=f"{bucket} sent in the database: {delivery_counts(engine)}",
        every=0.02,
    )
    return at_peer, at_db


def publish(notifier: Notifier, targets: dict[str, Any], label: str) -> dict[str, Any]:
    policy = write_policy(notifier.folder / f"{label}.json", targets=targets, label=label)
    return dict(notifier.json("policies", "publish", str(policy)))


def publish_and_wait(
    notifier: Notifier, engine: sa.Engine, peer: PeerProcess, bucket: str, count: int
) -> tuple[float, float, float]:
    """Publish to the enterprises of ``bucket``; return (stored, last at peer, all sent).

    Timed from the moment the policy is stored, as an API publish would return: the start-up
    of the `notifier` command is not the pipeline's time (5 times the whole command).
    """
    peer.reset(bucket)
    sent_before = delivery_counts(engine).get("sent", 0)
    published = publish(notifier, {"regions": [region(bucket)]}, bucket)
    started = policy_stored_at(engine, int(published["id"]))
    at_peer, at_db = wait_delivered(engine, peer, bucket, count=count, sent_before=sent_before)
    return started, at_peer, at_db


# --- the peers' own loops --------------------------------------------------------------------


def webhook_bodies(samples: list[dict[str, Any]]) -> list[tuple[bytes, dict[str, str]]]:
    return [
        (
            base64.b64decode(s["body"]),
            {k: v for k, v in s["headers"].items() if k not in _OWN_HEADERS},
        )
        for s in samples
    ]


def apprise_loop(port: int, bucket: str, body: str, count: int) -> float:
    """Apprise's Python API posting JSON to the same receiver: deliveries/s."""
    sender = apprise.Apprise()
    sender.add(f"json://{LOOPBACK}:{port}/{bucket}")
    started = time.perf_counter()
    for _ in range(count):
        if not sender.notify(body=body, title="北仑区汽车零部件产业技术改造补助申报通知"):
            raise RuntimeError("apprise could not post to the receiver")
    return count / (time.perf_counter() - started)


def receiver_capacity(peer: PeerProcess, bucket: str, count: int) -> float:
    """Two client processes of 4 threads each, http.client keep-alive: requests/s at the peer."""
    peer.reset(bucket)
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.peers",
                "load",
                str(peer.port),
                bucket,
                str(count // 2),
                "4",
            ]
        )
        for _ in range(2)
    ]
    for client in clients:
        client.wait()
    stats = peer.stats(bucket)
    return float(stats["requests"] / (stats["last"] - stats["first"]))


def bare_smtp_loop(port: int, bucket: str, samples: list[dict[str, Any]], count: int) -> float:
    """smtplib on one persistent connection, notifier's own messages: messages/s."""
    messages = [(s["mail_from"], base64.b64decode(s["raw"])) for s in samples]
    connection = smtplib.SMTP(LOOPBACK, port, timeout=30)
    started = time.perf_counter()
    for i in range(count):
        sender, raw = messages[i % len(messages)]
        raw = _MESSAGE_ID.sub(b"\\1 <%s-%d@bench.invalid>" % (bucket.encode(), i), raw, count=1)
        connection.sendmail(sender, [f"e{i}@{bucket}.example.com"], raw)
    seconds = time.perf_counter() - started
    connection.quit()
    return count / seconds


def check_peer(peer: PeerProcess, bucket: str, count: int, *, distinct: bool = True) -> None:
    stats = peer.stats(bucket)
    got = stats["distinct"] if distinct else stats["requests"]
    if got != count:
        raise RuntimeError(f"{bucket}: the peer counted {got}, expected {count}")


# --- 1: embedded (SQLite, one process) -------------------------------------------------------


def embedded_scenario(bench: Bench) -> None:
    n = bench.sizes.deliveries
    folder = bench.folder / "embedded"
    folder.mkdir(parents=True, exist_ok=True)
    database = f"sqlite:///{folder / 'embedded.db'}"
    notifier = Notifier(folder, {"NOTIFIER_DATABASE_URL": database, **bench.channel_settings()})
    notifier.run("db", "upgrade")
    bench.log(f"embedded: importing {n + WARM} enterprises")
    csv = write_enterprises(
        folder / "e.csv",
        Group(range(1, WARM + 1), region("ewarm"), "webhook", bench.hook_url("ewarm")),
        Group(range(1_000_000, 1_000_000 + n), region("emb"), "webhook", bench.hook_url("emb")),
    )
    notifier.run("enterprises", "import", str(csv))
    # notifier's own bodies for the bare loop (from the PostgreSQL run, else a first run here).
    bodies = bench.webhook_bodies
    warm = 0
    if not bodies:
        publish(notifier, {"regions": [region("ewarm")]}, "ewarm")
        bodies, warm = webhook_bodies(bench.http.samples("ewarm")), WARM
    section = f"1 webhook, embedded ({n:,} firms, SQLite, one process)"
    for run in range(bench.sizes.runs):
        bench.log(f"embedded run {run + 1}: bare loop, notifier ({n} each)")
        bench.http.reset("ebare")
        bare = bare_webhook_loop(bench.http.port, "ebare", bodies, n)
        check_peer(bench.http, "ebare", n)
        bench.http.reset("emb")
        policy = write_policy(
            folder / "emb.json", targets={"regions": [region("emb")]}, label="emb"
        )
        t0 = time.time()
        published = notifier.json("policies", "publish", str(policy))
        # Embedded, the publish command is the one process: it stores the policy, fans out and
        # sends with its own in-process worker (the code `notifier run` runs), and exits when
        # all is sent. Timed from the stored policy to the last message at the receiver, as 1.
        check_peer(bench.http, "emb", n)
        started = policy_stored_at(notifier_engine(database), int(published["id"]))
        done = bench.http.stats("emb")["last"]
        rate = n / (done - started)
        add = bench.results.add
        add(section, "notifier", "deliveries/s", rate, "stored → last at receiver")
        add(section, "(a) bare requests loop", "deliveries/s", bare, "in-process, as in 1")
        add(section, "ratio notifier / bare", "×", rate / bare, key="embedded.ratio")
        add(section, "command started → last message", "s", done - t0, "its start-up included")
    sent = notifier.json("status")["deliveries"]["webhook"].get("sent", 0)
    if sent != warm + n * bench.sizes.runs:
        raise RuntimeError(f"embedded: {sent} sent, expected {warm + n * bench.sizes.runs}")


# --- 2, 3, 4: import, fan-out, audience --------------------------------------------------------


def _import(bench: Bench, notifier: Notifier, csv: Path, count: int, *, timed: bool = True) -> None:
    started = time.perf_counter()
    done, rss_kb = notifier.run_measured("enterprises", "import", str(csv))
    seconds = time.perf_counter() - started
    if f"imported {count} enterprises" not in done.stdout or done.returncode != 0:
        raise RuntimeError(f"import: {done.stdout} {done.stderr[-1000:]}")
    if timed:
        section = f"3 import ({count:,} enterprises)"
        bench.results.add(
            section,
            "import rows/s",
            "rows/s",
            count / seconds,
            "`notifier enterprises import`, full validation",
        )
        bench.results.add(section, "import peak RSS", "MB", rss_kb / 1024)
    else:
        bench.results.notes.append(
            f"the {count:,} enterprises of the fan-out were imported once: {count / seconds:,.0f}"
            f" rows/s in {seconds:,.0f} s, peak RSS {rss_kb / 1024:,.0f} MB"
        )


def data_scenarios(bench: Bench) -> None:
    sizes = bench.sizes
    idle = RedisNamespace()  # no worker consumes it: publish queues its fan-out there, unread
    settings = {
        "NOTIFIER_REDIS_URL": idle.url,
        "NOTIFIER_REDIS_NAMESPACE": idle.name,
        # A district-wide policy would wait for an approver, and make no trigger to fan out.
        "NOTIFIER_APPROVAL__ENABLED": "false",
    }
    big_csv = write_enterprises(
        bench.folder / "register.csv",
        Group(range(1, max(sizes.imports, sizes.fanout) + 1), region_of, mixed_channel),
    )
    import_csv = big_csv
    if sizes.fanout != sizes.imports:
        import_csv = write_enterprises(
            bench.folder / "import.csv",
            Group(range(1, sizes.imports + 1), region_of, mixed_channel),
        )
    try:
        with bench.postgres.database() as big_url:
            big = Notifier(bench.folder / "big", {"NOTIFIER_DATABASE_URL": big_url, **settings})
            big.run("db", "upgrade")
            for run in range(sizes.runs):
                bench.log(f"import run {run + 1}: {sizes.imports:,} enterprises")
                if run == 0 and import_csv is big_csv:
                    _import(bench, big, big_csv, sizes.imports)
                    continue
                with bench.postgres.database() as url:
                    scratch = Notifier(
                        bench.folder / f"import{run}", {"NOTIFIER_DATABASE_URL": url}
                    )
                    scratch.run("db", "upgrade")
                    _import(bench, scratch, import_csv, sizes.imports)
            if import_csv is not big_csv:
                bench.log(f"importing the {sizes.fanout:,} enterprises of the fan-out (once)")
                _import(bench, big, big_csv, sizes.fanout, timed=False)
            _fanout_runs(bench, big)
            _audience_runs(bench, big)
    finally:
        idle.delete()


def _child(notifier: Notifier, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.inprocess",
            *args,
        ],
        env=notifier.env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.inprocess {args[0]}: {done.stderr[-2000:]}")
    return list(json.loads(done.stdout.splitlines()[-1]))


def _fanout_runs(bench: Bench, big: Notifier) -> None:
    count = bench.sizes.fanout
    section = f"2 fan-out ({count:,} enterprises, PostgreSQL)"
    bench.log(f"fan-out: {bench.sizes.runs} runs of {count:,} enterprises")
    triggers = [
        str(publish(big, {}, f"fanout{run}")["trigger_id"]) for run in range(bench.sizes.runs)
    ]
    for result in _child(big, "fanout", big.database_url, *triggers):
        if result["rows"] != count or result["queued_ids"] != count:
            raise RuntimeError(f"fan-out: {result}, expected {count} rows queued")
        bench.results.add(
            section,
            "fan-out seconds",
            "s",
            result["seconds"],
            "every delivery row exists and is queued",
        )
        bench.results.add(
            section, "fan-out rows/s", "rows/s", count / result["seconds"], key="fanout.rate"
        )
        bench.results.add(
            "6 memory",
            "peak RSS fan-out process",
            "MB",
            result["peak_rss_kb"] / 1024,
            f"`fan_out` in a process of its own, {count:,} rows a run",
        )


def _audience_runs(bench: Bench, big: Notifier) -> None:
    total = max(bench.sizes.imports, bench.sizes.fanout)
    section = f"4 audience ({total:,} enterprises; {AUDIENCE_SECTOR} + 大碶街道)"
    bench.log(f"audience: {bench.sizes.runs} runs")
    runs = str(bench.sizes.runs)
    for result in _child(big, "audience", big.database_url, AUDIENCE_SECTOR, AUDIENCE_REGION, runs):
        matched = sum(result["counts"].values())
        if result["streamed"] != matched:
            raise RuntimeError(f"audience: streamed {result['streamed']}, counted {matched}")
        bench.results.add(
            section, "count_by_channel", "s", result["count_seconds"], f"{matched:,} recipients"
        )
        bench.results.add(
            section, "stream all pages", "s", result["stream_seconds"], "`page` × 5,000 rows"
        )
