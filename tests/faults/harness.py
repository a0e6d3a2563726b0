"""The fault suite's parts: real ``notifier`` processes, private servers, figures.

Everything runs on loopback. Each scenario has its own PostgreSQL database (or a private
cluster), its own Redis namespace (or a private server) and its own log folder; every process it
starts is stopped at the end, and every bounded wait names what it waited for.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from notifier.channels.base import message_id_for

from support.cli import NOTIFIER, notifier_as
from support.factories import Firm, enterprise_csv, policy
from support.paths import REPO
from support.peers import LOOPBACK, free_port
from support.waiting import wait_until

# Read once at import: the suite's conftest clears NOTIFIER_* variables around every test.
SCALE = os.environ.get("NOTIFIER_FAULTS_SCALE", "quick")
if SCALE not in ("quick", "full"):
    raise SystemExit(f"NOTIFIER_FAULTS_SCALE must be quick or full, not {SCALE!r}")
FAULTS_DIR = Path(os.environ.get("NOTIFIER_FAULTS_DIR", REPO / "var" / "faults"))
RESULTS = Path(os.environ.get("NOTIFIER_FAULTS_RESULTS", FAULTS_DIR / "results.jsonl"))
LOGS = FAULTS_DIR / "logs"
CLOCK_SECONDS = float(
    os.environ.get("NOTIFIER_FAULTS_CLOCK_SECONDS", "600" if SCALE == "full" else "20")
)
POSTGRES_ADMIN_URL = os.environ.get(
    "NOTIFIER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NOTIFIER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Distinctive secrets: none of them may ever appear in a log line (scenario 7).
WEBHOOK_SECRET = "whsec_" + "ZmF1bHRzLXdlYmhvb2stc2VjcmV0LTdlNGMyYjkx"  # base64 of ASCII text
WEBHOOK_KEY_TEXT = "faults-webhook-secret-7e4c2b91"  # what that base64 decodes to
SMS_APP_SECRET = "faults-sms-app-secret-3d9a61f0c2"
SECRET_KEY = "faults-unsubscribe-signing-key-58b1e7"
SECRETS = (WEBHOOK_SECRET, WEBHOOK_SECRET.removeprefix("whsec_"), WEBHOOK_KEY_TEXT,
           SMS_APP_SECRET, SECRET_KEY)

# This session's lines, for the table printed at the end (conftest).
SESSION_RESULTS: list[dict[str, Any]] = []
FINAL = {"sent", "delivered", "failed", "suppressed", "cancelled"}


def scaled(quick: int, full: int) -> int:
    """The figure for this run's scale."""
    return full if SCALE == "full" else quick


# --- processes -----------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """``kill -9``: no cleanup of any kind in the process."""
        if self.alive:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


class Processes:
    """A scenario's subprocesses, each logging to its own file; :meth:`stop_all` ends them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Process] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        with open(log, "wb") as out:  # the child holds its own copy
            popen = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def notifier(self, name: str, *args: str, env: dict[str, str]) -> Process:
        return self.start(name, [str(NOTIFIER), *args], env)

    def run(self, name: str, args: list[str], env: dict[str, str], *, timeout: float = 300) -> str:
        """Run a command to its end, keep its output as a log; fail on a non-zero status."""
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        result = subprocess.run(args, env=env, capture_output=True, timeout=timeout)
        log.write_bytes(result.stdout + result.stderr)
        self.started.append(Process(name, _Finished(result.returncode), log))  # type: ignore[arg-type]
        if result.returncode != 0:
            raise AssertionError(f"{args} exited {result.returncode}: {log.read_text()[-2000:]}")
        return result.stdout.decode(errors="replace")

    def cli(self, name: str, *args: str, env: dict[str, str], timeout: float = 300) -> str:
        return self.run(name, [str(NOTIFIER), *args], env, timeout=timeout)

    def here(self, name: str, *args: str, env: dict[str, str]) -> str:
        """Run ``notifier ARGS`` to its end in this process with exactly ``env``'s settings, as
        :meth:`cli` would in a process of its own: its output and log lines kept as a log (the
        secrets search reads it), a non-zero status a failure. A fresh interpreter costs
        seconds; a scenario's setup (migrate, import, publish) needs only the command's effect.
        """
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        lines = logging.FileHandler(log, encoding="utf-8")
        lines.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(lines)
        try:
            result = notifier_as(env, self.log_dir)(*args)
        finally:
            logging.getLogger().removeHandler(lines)
            lines.close()
            self.started.append(Process(name, _Finished(0), log))  # type: ignore[arg-type]
        with log.open("a", encoding="utf-8") as out:
            out.write(result.output)
        return result.stdout

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {p.log.name}\n{p.log.read_text(errors='replace')[-tail:]}"
            for p in self.started
            if p.log.exists()
        )

    def stop_all(self) -> None:
        running = [p for p in self.started if p.alive]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.popen.terminate()
        for process in running:
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=10)


class _Finished:
    """A Popen look-alike for a command that already ran to its end."""

    def __init__(self, returncode: int) -> None:
        self.returncode = returncode
        self.pid = -1

    def poll(self) -> int:
        return self.returncode


def secrets_in_logs(paths: Iterable[Path]) -> list[str]:
    """``file: secret`` for every configured secret found in any of ``paths``."""
    found = []
    for path in paths:
        text = path.read_text(errors="replace")
        found += [f"{path}: {secret[:12]}..." for secret in SECRETS if secret in text]
    return found


# --- environment ---------------------------------------------------------------------------


def notifier_environment(
    *, database_url: str, redis_url: str | None, namespace: str, var_dir: Path, **settings: Any
) -> dict[str, str]:
    """The environment of a notifier process: nothing from the shell's NOTIFIER_*, these
    settings (``delivery__batch_size=50`` is ``NOTIFIER_DELIVERY__BATCH_SIZE``), the secrets."""
    config_dir = var_dir / "no-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        PYTHONUNBUFFERED="1",
        NOTIFIER_CONFIG_DIR=str(config_dir),
        NOTIFIER_ENVIRONMENT="test",
        NOTIFIER_VAR_DIR=str(var_dir),
        NOTIFIER_DATABASE_URL=database_url,
        NOTIFIER_REDIS_NAMESPACE=namespace,
        NOTIFIER_SECRET_KEY=SECRET_KEY,
        NOTIFIER_WEBHOOK__PROVIDER="http",
        NOTIFIER_WEBHOOK__SECRET=WEBHOOK_SECRET,
        NOTIFIER_SMS__PROVIDER="http",
        NOTIFIER_SMS__URL=f"http://{LOOPBACK}:{free_port()}/v1/sms",
        NOTIFIER_SMS__APP_KEY="faults-app-key",
        NOTIFIER_SMS__APP_SECRET=SMS_APP_SECRET,
        # Policies go out at once: the faults are about sending, not approval (待审核).
        NOTIFIER_APPROVAL__ENABLED="false",
        NOTIFIER_ALLOWED_PRIVATE_TARGETS='["127.0.0.0/8"]',
        NOTIFIER_WEB__PORT="0",  # `notifier run` serves too: any free port, never a fixed one
        NOTIFIER_ALLOWED_WEBHOOK_TARGETS='["127.0.0.0/8:*"]',
        # The scenarios run on the wall clock at any hour: SMS quiet hours (21:00-08:00 by
        # default) would defer their SMS to the morning, which is not the fault under test.
        NOTIFIER_QUIET_HOURS__SMS="",
    )
    if redis_url:
        env["NOTIFIER_REDIS_URL"] = redis_url
    env.update({f"NOTIFIER_{k.upper()}": str(v) for k, v in settings.items()})
    return env


# --- databases -----------------------------------------------------------------------------


@contextlib.contextmanager
def shared_database(template: str | None = None) -> Iterator[str]:
    """A new database on the shared PostgreSQL server, empty or a copy of ``template`` (a
    database name); dropped afterwards. Its commits do not wait for the disk: the shared
    server is never restarted under a scenario (scenario 3 has a cluster of its own)."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"notifier_faults_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"no {name} under /usr/lib/postgresql/*/bin")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb, pg_ctl as the ``postgres`` user), trust auth,
    on a spare loopback port and a socket folder of its own. The shared server is never used."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="notifier-faults-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        shutil.chown(self.base, "postgres", "postgres")
        self._as_postgres(
            _postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{LOOPBACK}:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True, timeout=timeout, cwd=self.base,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {(result.stdout + result.stderr).decode()}")

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses={LOOPBACK} -c fsync=off"
        )
        self._as_postgres(
            _postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, *args,
        )

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self, mode: str = "fast") -> None:
        """Stop (``fast``: clients cut off; ``immediate``: a crash, recovery at start) and start."""
        self._pg_ctl("stop", "-m", mode)
        self._pg_ctl("start")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRedis:
    """A redis-server of our own on a spare loopback port, without persistence."""

    def __init__(self, processes: Processes) -> None:
        self.port = free_port()
        self._processes = processes
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
                "--appendonly", "no", "--daemonize", "no"]
        self.process = self._processes.start("redis", args, dict(os.environ))
        client = redis.Redis.from_url(self.url)
        try:
            wait_until(lambda: _pings(client), timeout=15, what="the private redis-server")
        finally:
            client.close()

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill9()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


def delete_namespace(url: str, namespace: str) -> None:
    """Delete the scenario's keys on the shared Redis (never a flush)."""
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
    finally:
        client.close()


def unacked_delivery_ids(client: redis.Redis, namespace: str) -> set[int]:
    """Delivery ids in messages some worker took from the deliver queue and never acknowledged."""
    ids: set[int] = set()
    for key in client.scan_iter(f"{namespace}:__acks__.*.deliver"):
        message_ids = list(client.smembers(key))
        if not message_ids:
            continue
        for raw in client.hmget(f"{namespace}:deliver.msgs", message_ids):
            if raw:
                ids.update(json.loads(raw)["args"][0])
    return ids


# --- the work ------------------------------------------------------------------------------


def write_firms(path: Path, count: int, url: str, *, channels: str = "webhook") -> Path:
    """An enterprise CSV of ``count`` firms, each with its own endpoint ``url?e=N``."""
    rows = []
    for n in range(1, count + 1):
        row = Firm(n, channels=channels, webhook_url=f"{url}?e={n}").row()
        row[5] = f"139{n:08d}"  # the factory's numbers run out at 9,999 firms
        rows.append(row)
    path.write_text(enterprise_csv([], extra_rows=rows), encoding="utf-8")
    return path


def write_policy(path: Path, ref: str, **fields: Any) -> Path:
    path.write_text(json.dumps(policy(ref=ref, **fields), ensure_ascii=False), encoding="utf-8")
    return path


class Store:
    """Read-only looks at a scenario's database, as the test sees it."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)

    def statuses(self) -> dict[int, str]:
        with self.engine.connect() as connection:
            return dict(connection.execute(sa.text("SELECT id, status FROM deliveries")).all())

    def counts(self) -> dict[str, int]:
        """Deliveries per status; empty while the database cannot be reached."""
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    sa.text("SELECT status, count(*) FROM deliveries GROUP BY status")
                ).all()
        except sa.exc.OperationalError:
            return {}
        return dict(rows)

    def all_final(self, expected: int) -> bool:
        counts = self.counts()
        return sum(counts.values()) == expected and set(counts) <= FINAL

    def message_ids(self) -> dict[int, tuple[str, str]]:
        """Each delivery's webhook-id (from its idempotency key) and endpoint."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, idempotency_key, address FROM deliveries")
            ).all()
        return {i: (message_id_for(key), address) for i, key, address in rows}

    def close(self) -> None:
        self.engine.dispose()


# --- figures -------------------------------------------------------------------------------


@dataclass
class Figures:
    """What a scenario came to; one JSON line of ``results.jsonl``."""

    scenario: str
    deliveries: int = 0
    final: int = 0
    sent: int = 0
    lost: int = 0
    repeated: int = 0
    recover_seconds: float | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        line = {
            "scenario": self.scenario,
            "scale": SCALE,
            "deliveries": self.deliveries,
            "final": self.final,
            "sent": self.sent,
            "lost": self.lost,
            "repeated": self.repeated,
            "recover_seconds": None
            if self.recover_seconds is None
            else round(self.recover_seconds, 2),
            "seconds": round(self.seconds, 1),
            **self.extra,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        SESSION_RESULTS.append(line)
        return line


def check_webhooks(
    store: Store, counts: dict[str, int], paths: dict[str, set[str]], figures: Figures
) -> dict[str, int]:
    """Fill in the figures from the store and the receiver; return the repeated webhook-ids.

    Asserts what every scenario promises: every delivery final and sent, none lost (each
    delivery's webhook-id reached its receiver), nothing received that no delivery sent, and
    every request of an id went to that delivery's own endpoint (a repeat keeps its id).
    """
    statuses = store.statuses()
    ids = store.message_ids()
    figures.deliveries = len(statuses)
    figures.final = sum(1 for s in statuses.values() if s in FINAL)
    figures.sent = sum(1 for s in statuses.values() if s == "sent")
    expected = {webhook_id for webhook_id, _ in ids.values()}
    figures.lost = len(expected - set(counts))
    repeated = {webhook_id: n for webhook_id, n in counts.items() if n > 1}
    figures.repeated = sum(n - 1 for n in repeated.values())
    assert figures.final == figures.deliveries, {s for s in statuses.values() if s not in FINAL}
    assert figures.sent == figures.deliveries, "every delivery should end sent"
    assert figures.lost == 0, f"{figures.lost} deliveries never reached their receiver"
    assert set(counts) <= expected, "the receiver got webhook-ids no delivery has"
    for webhook_id, address in ids.values():
        endpoint = address[address.index("/hooks/") :]
        assert paths.get(webhook_id) == {endpoint}, (webhook_id, paths.get(webhook_id), address)
    return repeated


class Deployment:
    """One scenario's notifier: its environment, processes and store."""

    def __init__(self, processes: Processes, env: dict[str, str], database_url: str) -> None:
        self.processes = processes
        self.env = env
        self.folder = processes.log_dir
        self.store = Store(database_url)

    # The setup commands run in this process (Processes.here); the processes under test
    # (worker, clock, run) are real ones.
    def migrate(self) -> None:
        self.processes.here("db-upgrade", "db", "upgrade", env=self.env)

    def import_firms(self, count: int, url: str, *, channels: str = "webhook") -> None:
        csv = write_firms(self.folder / "firms.csv", count, url, channels=channels)
        self.processes.here("import", "enterprises", "import", str(csv), env=self.env)

    def publish(self, ref: str, **fields: Any) -> None:
        file = write_policy(self.folder / f"{ref}.json", ref, **fields)
        self.processes.here("publish", "policies", "publish", str(file), env=self.env)

    def worker(self, threads: int = 4) -> Process:
        return self.processes.notifier("worker", "worker", "--threads", str(threads), env=self.env)

    def clock(self, name: str = "clock", **env: str) -> Process:
        return self.processes.notifier(name, "clock", env={**self.env, **env})

    def wait_all_final(self, expected: int, *, timeout: float) -> None:
        wait_until(
            lambda: self.store.all_final(expected),
            timeout=timeout,
            what=f"all {expected} deliveries to be final (now {self.store.counts()})",
            every=0.25,
        )

    def assert_no_secrets(self) -> None:
        leaks = secrets_in_logs(p.log for p in self.processes.started if p.log.exists())
        assert not leaks, leaks

    def close(self) -> None:
        self.store.close()
