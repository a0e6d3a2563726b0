"""7 console: the staff console's pages and live preview, idle and under a large export and
a publish, on the embedded default (SQLite, ``notifier run``: one process) and on PostgreSQL
as the Procfile deploys it (``notifier serve``, ``notifier worker --threads 8`` — the Procfile's
two processes cut to one on this 2-core machine, see ``WORKER_PROCESSES`` — and ``notifier
clock``, with Redis as the broker).

The real processes run as subprocesses; the data is seeded fast (the register
imported by ``notifier enterprises import``, policies, triggers and deliveries bulk-inserted);
a client in this process signs in with an admin key and measures:

* each page's latency idle, then while one thread downloads the XLSX export of
  ``console_export`` deliveries and another publishes a policy to ``console_publish`` firms
  (through the compose form, as a clerk does);
* the compose page's live preview of a district-wide policy;
* the export's duration and the server's peak RSS (VmHWM) before and after it.
"""

from __future__ import annotations

import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

from bench.data import PARK, STREETS, Group, region_of, write_enterprises
from bench.peers import LOOPBACK
from bench.scenarios import Bench
from bench.services import Notifier, Process, RedisNamespace
from notifier.store import table_of
from notifier.store.models import Delivery, Policy, Trigger

PAGES = {
    "dashboard": "/console/",
    "policies": "/console/policies",
    "policy page": "/console/policies/{policy}",
    "deliveries": "/console/deliveries",
    "enterprises": "/console/enterprises",
    "deadlines": "/console/deadlines",
    "campaigns": "/console/campaigns",
    "admin": "/console/admin",
}
# The Procfile's worker has two processes of eight threads; the bench machine has 2 cores,
# shared with the web server, the export process and PostgreSQL: one process of eight threads
# sent the publish as fast (297 against 307 messages/s) and left the pages more CPU (all pages
# p95 under load 217 against 360 ms; bench/ANALYSIS.md).
WORKER_PROCESSES = 1
POLICIES = 50  # the deliveries are spread over these (the first holds the export's)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class ConsoleSizes:
    firms: int
    deliveries: int
    export: int  # deliveries of the exported policy
    publish: int  # firms the publish under load reaches (one street: firms / 5)
    samples: int  # requests per page and phase, and previews
    runs: int


def channels_of(n: int) -> str:
    """Every firm on SMS, two in three on email too, one in three on a webhook."""
    return ("sms;email", "sms;email", "sms;webhook")[n % 3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _p95(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


# --- seeding ---------------------------------------------------------------------------------


def seed(engine: sa.Engine, sizes: ConsoleSizes) -> int:
    """Policies, their triggers and deliveries, bulk-inserted; the exported policy's id."""
    policies, triggers, deliveries = (table_of(model) for model in (Policy, Trigger, Delivery))
    now = datetime.now(UTC)
    with engine.begin() as connection:
        firms = [row[0] for row in connection.execute(sa.text("SELECT id FROM enterprises"))]
        policy_ids = []
        for p in range(POLICIES):
            published = now - timedelta(days=POLICIES - p)
            policy_ids.append(
                connection.execute(
                    policies.insert().values(
                        source_key=f"bench-console-{p}",
                        title=f"北仑区技术改造补助申报通知（第{p + 1}批）",
                        summary="按设备投资额的10%给予补助",
                        body="",
                        department="北仑区经济和信息化局",
                        topics=[],
                        target_sectors=[],
                        target_regions=[PARK],
                        target_sizes=[],
                        target_tags=[],
                        target_credit_codes=[],
                        published_at=published,
                        created_at=published,
                    )
                ).inserted_primary_key[0]
            )
        trigger_ids = [
            connection.execute(
                triggers.insert().values(
                    key=f"policy:{pid}:published",
                    kind="policy_published",
                    policy_id=pid,
                    due_at=now,
                    status="done",
                    recipients=0,
                    attempts=1,
                )
            ).inserted_primary_key[0]
            for pid in policy_ids
        ]
        rest = sizes.deliveries - sizes.export
        per_policy = [sizes.export] + [rest // (POLICIES - 1)] * (POLICIES - 1)
        per_policy[-1] += rest - sum(per_policy[1:])
        n = 0
        for pid, tid, count in zip(policy_ids, trigger_ids, per_policy, strict=True):
            rows = []
            for i in range(count):
                firm = firms[i % len(firms)]
                channel = ("sms", "email", "webhook")[i % 3]
                sent = now - timedelta(minutes=i % 5000)
                rows.append(
                    {
                        "idempotency_key": f"bench:{pid}:{i}",
                        "trigger_id": tid,
                        "policy_id": pid,
                        "enterprise_id": firm,
                        "channel": channel,
                        "address": f"138{firm:08d}",
                        "reason": {"matched": {"regions": [PARK]}},
                        "status": "sent" if i % 10 else "failed",
                        "attempts": 1 if i % 10 else 3,
                        "throttled": 0,
                        "sent_at": sent if i % 10 else None,
                        "last_error": None if i % 10 else "gateway 503",
                        "provider": "bench",
                        "created_at": sent,
                        "updated_at": sent,
                    }
                )
                n += 1
                if len(rows) == 5000:
                    connection.execute(deliveries.insert(), rows)
                    rows = []
            if rows:
                connection.execute(deliveries.insert(), rows)
    return int(policy_ids[0])


# --- the server and its client ---------------------------------------------------------------


@dataclass
class Client:
    """A signed-in browser session against the console."""

    url: str
    session: requests.Session = field(default_factory=requests.Session)
    csrf: str = ""

    def sign_in(self, key: str) -> None:
        form = self.session.get(f"{self.url}/console/login", timeout=30)
        csrf = _CSRF.search(form.text)
        answer = self.session.post(
            f"{self.url}/console/login",
            data={"key": key, "csrf": csrf.group(1) if csrf else ""},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 303:
            raise RuntimeError(f"console sign-in refused: {answer.status_code}")
        found = _CSRF.search(self.session.get(f"{self.url}/console/policies/new", timeout=30).text)
        assert found, "no CSRF value on the compose page"
        self.csrf = found.group(1)

    def timed_get(self, path: str) -> float:
        started = time.perf_counter()
        answer = self.session.get(self.url + path, timeout=120)
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        return took

    def preview(self, regions: list[str]) -> float:
        started = time.perf_counter()
        answer = self.session.post(
            f"{self.url}/console/policies/preview",
            data={**_form("实时预览"), "regions": regions, "csrf": self.csrf},
            timeout=120,
        )
        took = time.perf_counter() - started
        data = answer.json()
        if not data.get("ok"):
            raise RuntimeError(f"preview refused: {data}")
        return took

    def publish(self, regions: list[str]) -> float:
        started = time.perf_counter()
        answer = self.session.post(
            f"{self.url}/console/policies",
            data={**_form("负载发布"), "regions": regions, "csrf": self.csrf},
            allow_redirects=False,
            timeout=600,
        )
        if answer.status_code != 303:
            raise RuntimeError(f"publish refused: {answer.status_code} {answer.text[:500]}")
        return time.perf_counter() - started

    def export(self, policy: int) -> tuple[float, int]:
        """Download the policy's deliveries as XLSX: seconds and bytes."""
        started = time.perf_counter()
        size = 0
        with self.session.get(
            f"{self.url}/console/deliveries/export",
            params={"format": "xlsx", "policy": str(policy)},
            stream=True,
            timeout=900,
        ) as answer:
            if answer.status_code != 200:
                raise RuntimeError(f"export: {answer.status_code}")
            for chunk in answer.iter_content(65536):
                size += len(chunk)
        return time.perf_counter() - started, size


def _form(label: str) -> dict[str, str]:
    return {
        "title": f"北仑区制造业技术改造补助申报通知（{label}{time.monotonic_ns()}）",
        "department": "北仑区经济和信息化局",
        "summary": "按设备投资额的10%给予补助，单个项目最高500万元",
        "body": "为加快推进制造业高质量发展，支持企业实施技术改造，现将有关申报事项通知如下。",
        "publish_when": "now",
    }


@contextmanager
def running(notifier: Notifier, name: str, *, production: bool) -> Iterator[tuple[str, Process]]:
    """The system on a free port until the block ends; the web server's process is yielded.

    Embedded: ``notifier run`` (web, worker and clock in one process). ``production``: what the
    Procfile runs, ``notifier serve``, ``notifier worker --processes WORKER_PROCESSES --threads
    8`` and ``notifier clock``, beside each other on the broker the settings name.
    """
    port = free_port()
    notifier.env["NOTIFIER_WEB__HOST"] = LOOPBACK
    notifier.env["NOTIFIER_WEB__PORT"] = str(port)
    notifier.env["NOTIFIER_PUBLIC_URL"] = f"http://{LOOPBACK}:{port}"
    others: dict[str, Process] = {}
    if production:
        server = notifier.spawn("serve", name=f"{name}-web")
        others["worker"] = notifier.spawn(
            "worker", "--processes", str(WORKER_PROCESSES), "--threads", "8", name=f"{name}-worker"
        )
        others["clock"] = notifier.spawn("clock", name=f"{name}-clock")
    else:
        server = notifier.spawn("run", "--threads", "4", name=name)
    url = f"http://{LOOPBACK}:{port}"
    try:
        for role, process in others.items():
            process.wait_for("clock running" if role == "clock" else "consuming", timeout=120)
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the web server did not start: {server.log.read_text()[-2000:]}"
                )
            time.sleep(0.2)
        yield url, server
    finally:
        server.stop()
        for process in others.values():
            process.stop()


# --- measuring -------------------------------------------------------------------------------

_UNSENT = ("pending", "queued", "sending", "deferred")


def _as_time(value: object) -> datetime:
    if isinstance(value, str):  # SQLite keeps UTC times as naive text
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value


def sending_rate(database_url: str, timeout: float = 900) -> tuple[int, float]:
    """The newest policy's messages and their rate (messages/s, from the policy stored to its
    last message sent), once its fan-out is done and none is left to send."""
    engine = sa.create_engine(database_url)
    query = sa.text(
        "SELECT p.created_at, count(d.id), max(d.sent_at),"
        " sum(CASE WHEN d.status IN :unsent THEN 1 ELSE 0 END),"
        " (SELECT count(*) FROM triggers t WHERE t.policy_id = p.id AND t.status != 'done')"
        " FROM policies p JOIN deliveries d ON d.policy_id = p.id"
        " WHERE p.id = (SELECT max(id) FROM policies) GROUP BY p.id, p.created_at"
    ).bindparams(sa.bindparam("unsent", expanding=True))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                row = connection.execute(query, {"unsent": list(_UNSENT)}).one_or_none()
            if row is not None and row[3] == 0 and row[4] == 0 and row[2] is not None:
                took = (_as_time(row[2]) - _as_time(row[0])).total_seconds()
                return int(row[1]), row[1] / took
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise RuntimeError("the publish's messages were not all sent in time")


def _pages(
    client: Client, policy: int, samples: int, until: Callable[[], bool] | None = None
) -> dict[str, list[float]]:
    """Latencies of each page: ``samples`` rounds, and more until ``until`` says done."""
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    rounds = 0
    while rounds < samples or (until is not None and not until()):
        for name, path in PAGES.items():
            times[name].append(client.timed_get(path.format(policy=policy)))
        rounds += 1
    return times


def _under_load(
    client: Client, policy: int, street: list[str], samples: int
) -> tuple[dict[str, list[float]], list[float], float]:
    """Pages timed while one thread downloads the export again and again and another
    publishes (its fan-out and sending go on in the server after the form is answered): the
    pages' times (``samples`` rounds, and at least until the first export and the publish
    are done), the exports' durations and bytes, and the publish's answer time."""
    exports: list[float] = []
    sizes: list[int] = []
    published: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def export() -> None:
        try:
            while not stop.is_set():
                took, size = Client(client.url, client.session).export(policy)
                exports.append(took)
                sizes.append(size)
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)

    def publish() -> None:
        try:
            published.append(Client(client.url, client.session, client.csrf).publish(street))
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)

    threads = [threading.Thread(target=export), threading.Thread(target=publish)]
    for thread in threads:
        thread.start()
    loaded = _pages(
        client, policy, samples, until=lambda: bool(exports and published) or bool(errors)
    )
    stop.set()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return loaded, exports, published[0]


def measure(bench: Bench, label: str, notifier: Notifier, sizes: ConsoleSizes, policy: int) -> None:
    """One run against a running server: idle pages, previews, pages under load."""
    section = f"7 console, {label}"
    results = bench.results
    key = notifier.run("keys", "create", "--role", "admin", "--name", "bench").stdout.split()[0]
    production = not notifier.database_url.startswith("sqlite")
    with running(notifier, f"console-{label[:8]}", production=production) as (url, server):
        client = Client(url)
        client.sign_in(key)
        district = [PARK]
        street = [f"{PARK}/{STREETS[0]}"]
        client.preview(district)  # warm: templates, providers, caches
        _pages(client, policy, 1)
        for run in range(sizes.runs):
            bench.log(f"console {label} run {run + 1}: idle pages, previews")
            idle = _pages(client, policy, sizes.samples)
            previews = [client.preview(district) for _ in range(sizes.samples)]
            rss_before = server.peak_rss_kb()
            bench.log(f"console {label} run {run + 1}: pages under export and publish")
            loaded, exports, publish = _under_load(client, policy, street, sizes.samples)
            rss_after = server.peak_rss_kb()
            rss_export = server.children_peak_rss_kb()
            messages, rate = sending_rate(notifier.database_url)
            for name in PAGES:
                quiet, busy = _p95(idle[name]), _p95(loaded[name])
                results.add(
                    section,
                    f"page {name} p95 under load",
                    "ms",
                    busy * 1000,
                    f"idle p95 {quiet * 1000:.0f} ms (load/idle ×{busy / quiet:.1f}); "
                    f"p50 {statistics.median(loaded[name]) * 1000:.0f} ms; "
                    f"{len(loaded[name])} requests",
                )
            quiet_all = _p95([t for times in idle.values() for t in times])
            busy_all = _p95([t for times in loaded.values() for t in times])
            results.add(section, "all pages p95 idle", "ms", quiet_all * 1000)
            results.add(
                section, "all pages p95 under load", "ms", busy_all * 1000, "target ≤ 300 ms"
            )
            results.add(section, "ratio all pages p95 load / idle", "×", busy_all / quiet_all)
            results.add(
                section,
                "preview p95 (district-wide)",
                "ms",
                _p95(previews) * 1000,
                f"{sizes.firms:,} firms; p50 "
                f"{statistics.median(previews) * 1000:.0f} ms; target ≤ 1,000 ms",
            )
            results.add(
                section,
                f"export XLSX ({sizes.export:,} rows)",
                "s",
                statistics.median(exports),
                f"{len(exports)} exports back to back, under the publish and the pages",
            )
            results.add(
                section,
                f"publish ({sizes.publish:,} firms) answered",
                "s",
                publish,
                "the compose form's POST, under the export",
            )
            results.add(
                section,
                "publish's sending",
                "messages/s",
                rate,
                f"{messages:,} messages, stored → last sent, beside the exports and pages",
            )
            results.add(section, "server peak RSS before load", "MB", rss_before / 1024)
            results.add(
                section,
                "server peak RSS after export",
                "MB",
                rss_after / 1024,
                "VmHWM of the web server's process",
            )
            results.add(
                section,
                "export process peak RSS",
                "MB",
                rss_export / 1024,
                "VmHWM of the web server's largest child (the export's process)",
            )


def console_scenario(bench: Bench) -> None:
    """Both setups: the embedded default, then PostgreSQL."""
    given = bench.sizes
    sizes = ConsoleSizes(
        firms=given.console_firms,
        deliveries=given.console_deliveries,
        export=given.console_deliveries * 2 // 5,  # 40,000 of 100,000
        publish=given.console_firms // len(STREETS),  # one street: 4,000 of 20,000
        samples=given.console_samples,
        runs=given.runs,
    )
    started = time.monotonic()
    _setup(bench, sizes, "embedded (SQLite, one process)", None)
    namespace = RedisNamespace()
    try:
        with bench.postgres.database() as url:
            _setup(bench, sizes, "PostgreSQL + Redis (Procfile processes)", url, namespace)
    finally:
        namespace.delete()
    bench.log(f"console scenario took {time.monotonic() - started:.0f} s")


def _setup(
    bench: Bench,
    sizes: ConsoleSizes,
    label: str,
    postgres_url: str | None,
    namespace: RedisNamespace | None = None,
) -> None:
    folder: Path = bench.folder / f"console-{'pg' if postgres_url else 'sqlite'}"
    folder.mkdir(parents=True, exist_ok=True)
    database = postgres_url or f"sqlite:///{folder / 'notifier.db'}"
    settings = {
        "NOTIFIER_DATABASE_URL": database,
        "NOTIFIER_QUIET_HOURS__SMS": "",
        **bench.channel_settings(),
    }
    if namespace is not None:  # PostgreSQL as deployed: Redis carries the work
        settings["NOTIFIER_REDIS_URL"] = namespace.url
        settings["NOTIFIER_REDIS_NAMESPACE"] = namespace.name
    notifier = Notifier(folder, settings)
    notifier.run("db", "upgrade")
    bench.log(f"console {label}: importing {sizes.firms:,} firms")
    csv = write_enterprises(
        folder / "firms.csv",
        Group(
            range(2_000_000, 2_000_000 + sizes.firms),
            region_of,
            channels_of,
            bench.hook_url("console"),
        ),
    )
    notifier.run("enterprises", "import", str(csv))
    bench.log(f"console {label}: inserting {sizes.deliveries:,} deliveries")
    engine = sa.create_engine(database)
    try:
        policy = seed(engine, sizes)
    finally:
        engine.dispose()
    measure(bench, label, notifier, sizes, policy)
