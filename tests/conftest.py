"""Shared fixtures: settings, real databases (SQLite and PostgreSQL), real brokers, peers.

PostgreSQL, Redis and RabbitMQ are the services on this machine. Locally a missing service skips its
tests; under CI (``CI`` set) a missing service fails them, so they can never skip silently.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest
import redis
import sqlalchemy as sa
from dramatiq.common import dq_name, xq_name
from fastapi.testclient import TestClient

from notifier.config import Settings, load_settings
from notifier.domain.secret_box import new_key
from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.jobs.queues import QUEUES
from notifier.runtime import Runtime
from notifier.store import migrate

from support.cli import Notifier, notifier_on
from support.databases import fresh_sqlite
from support.web_harness import console_runtime, web_app

POSTGRES_ADMIN_URL = os.environ.get(
    "NOTIFIER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NOTIFIER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Given, it is used as is, and its virtual host must be the tests' own (queues are emptied);
# otherwise each test session makes a virtual host of its own on the local server.
RABBITMQ_URL = os.environ.get("NOTIFIER_TEST_RABBITMQ_URL")
RABBITMQ_SERVER = "amqp://guest:guest@127.0.0.1:5672"
IN_CI = bool(os.environ.get("CI"))


def service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail under CI: the real-service tests must run there."""
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(f"{message} (CI must run these tests; start the service)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see only the settings they give: no NOTIFIER_* from the shell, no config/ files."""
    for name in list(os.environ):
        if name.startswith("NOTIFIER_") and not name.startswith("NOTIFIER_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NOTIFIER_CONFIG_DIR", str(tmp_path / "no-config"))
    # No quiet hours: a test must pass at any time of day (the quiet-hours tests remove this).
    monkeypatch.setenv("NOTIFIER_QUIET_HOURS__SMS", "")
    # Sends go out at once: no approval (待审核) unless a test turns it on
    # (sets this variable to "true": the environment wins over settings given in code).
    monkeypatch.setenv("NOTIFIER_APPROVAL__ENABLED", "false")
    # Every test's queues live under keys of its own, in-process and in worker subprocesses,
    # so test runs sharing the Redis server never take or flush each other's messages.
    monkeypatch.setenv("NOTIFIER_REDIS_NAMESPACE", f"notifier-test-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, built by running the migrations."""
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = f"notifier_test_{uuid.uuid4().hex[:10]}"
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # A throwaway database: commits need not wait for the disk (nothing in it need
            # outlive a crash), which saves a WAL flush per transaction on a busy machine.
            connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    if url in _EMPTYING:
        _EMPTYING.pop(url)[0].dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Per database URL: an engine and the statements that empty its tables (read once).
_EMPTYING: dict[str, tuple[sa.Engine, str]] = {}


def _truncate_postgres(url: str) -> None:
    """Empty every table and restart every sequence, as ``TRUNCATE .. RESTART IDENTITY`` would.

    ``DELETE`` children first, parents last: on tables of a few rows it takes milliseconds,
    where ``TRUNCATE`` makes new files for 27 tables and waits for the disk (0.1-1 s a test).
    """
    if url not in _EMPTYING:
        engine = sa.create_engine(url)
        ordered = [t for t, _ in sa.inspect(engine).get_sorted_table_and_fkc_names() if t]
        deletes = [f'DELETE FROM "{t}"' for t in reversed(ordered) if t != "alembic_version"]
        restart = (
            "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()"
        )
        _EMPTYING[url] = (engine, "; ".join([*deletes, restart]))
    engine, statements = _EMPTYING[url]
    with engine.begin() as connection:
        connection.exec_driver_sql(statements)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated, empty SQLite database of the test's own (a copy of one migrated file)."""
    return fresh_sqlite(tmp_path / "notifier.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis server; the test's keys (under its own namespace) are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing("Redis", exc)
    yield REDIS_URL
    namespace = os.environ["NOTIFIER_REDIS_NAMESPACE"]
    for key in client.scan_iter(match=f"{namespace}*", count=1000):
        client.delete(key)
    client.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def rabbitmq_session_url() -> Iterator[str]:
    """A RabbitMQ virtual host of this test session's own, deleted at its end.

    dramatiq's RabbitMQ queues have fixed names (``deliver``, ``deliver.DQ``...) and no
    namespace, so a virtual host is what keeps test runs sharing the server (other worktrees,
    CI) from taking or purging each other's messages.
    """
    if RABBITMQ_URL:
        yield RABBITMQ_URL
        return
    try:
        pika.BlockingConnection(pika.URLParameters(RABBITMQ_SERVER + "/%2F")).close()
    except pika.exceptions.AMQPConnectionError as exc:
        service_missing("RabbitMQ", exc)
    vhost = f"notifier-test-{uuid.uuid4().hex[:12]}"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError) as exc:
        service_missing("rabbitmqctl (to make the tests' RabbitMQ virtual host)", exc)
    yield f"{RABBITMQ_SERVER}/{vhost}"
    with contextlib.suppress(OSError, subprocess.SubprocessError):  # the server went away
        _rabbitmqctl("delete_vhost", vhost)


def _delete_notifier_queues(url: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for queue in QUEUES:
            for name in (queue, dq_name(queue), xq_name(queue)):
                channel.queue_delete(name)
    finally:
        connection.close()


@pytest.fixture
def rabbitmq_url(rabbitmq_session_url: str) -> Iterator[str]:
    """RabbitMQ in the session's virtual host, its queues deleted before and after the test.

    Tests in one session run one at a time, so no other test's worker holds these queues.
    """
    _delete_notifier_queues(rabbitmq_session_url)
    yield rabbitmq_session_url
    _delete_notifier_queues(rabbitmq_session_url)


@pytest.fixture
def tls_files(tmp_path: Path):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""
    from support.peers import make_tls_files

    return make_tls_files(tmp_path / "tls")


@pytest.fixture
def make_settings(tmp_path: Path):
    """Build settings for a test: loopback peers allowed, output under the test's folder."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "environment": "test",
            "var_dir": tmp_path / "var",
            "allowed_provider_targets": ["127.0.0.0/8"],
            # Firms' endpoints too: the peers listen on any loopback port.
            "allowed_webhook_targets": ["127.0.0.0/8:*"],
        }
        values.update(overrides)
        return load_settings(config_dir=tmp_path / "no-config", **values)

    return build


@pytest.fixture
def make_runtime(make_settings):
    """Build a runtime; closed after the test."""
    built: list[Runtime] = []

    def build(time_source: TimeSource = SYSTEM_TIME, **overrides: object) -> Runtime:
        runtime = Runtime.build(make_settings(**overrides), time_source=time_source)
        built.append(runtime)
        return runtime

    yield build
    for runtime in built:
        runtime.close()


@pytest.fixture
def notifier(database_url: str, tmp_path: Path) -> Notifier:
    """The ``notifier`` command (in process) on a migrated, empty database (SQLite, PostgreSQL)."""
    return notifier_on(database_url, tmp_path)


@pytest.fixture
def sqlite_notifier(sqlite_url: str, tmp_path: Path) -> Notifier:
    """The command on a migrated SQLite file: for checks where the database makes no difference."""
    return notifier_on(sqlite_url, tmp_path)


@pytest.fixture
def keyed_runtime(make_runtime, tmp_path: Path) -> Runtime:
    """A console runtime with a secrets key, so provider rows with secrets can be added."""
    return console_runtime(make_runtime, tmp_path, secrets={"keys": [new_key()]})


@pytest.fixture
def keyed_client(keyed_runtime: Runtime) -> TestClient:
    """A browser on :func:`keyed_runtime`'s web app."""
    return TestClient(web_app(keyed_runtime))
