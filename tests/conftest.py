"""Shared fixtures: settings, real databases (SQLite and PostgreSQL), real brokers, peers.

PostgreSQL and Redis are the services on this machine. Locally a missing service skips its
tests; under CI (``CI`` set) a missing service fails them, so they can never skip silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from notifier import migrate
from notifier.config import Settings, load_settings
from notifier.runtime import Runtime

POSTGRES_ADMIN_URL = os.environ.get(
    "NOTIFIER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NOTIFIER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
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
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(
        f'"{t}"' for t in sa.inspect(engine).get_table_names() if t != "alembic_version"
    )
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notifier.db'}"
        migrate.upgrade(url)
        return url
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


@pytest.fixture
def tls_files(tmp_path: Path):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""
    from peers import make_tls_files

    return make_tls_files(tmp_path / "tls")


@pytest.fixture
def make_settings(tmp_path: Path):
    """Build settings for a test: loopback peers allowed, output under the test's folder."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "environment": "test",
            "var_dir": tmp_path / "var",
            "allowed_private_targets": ["127.0.0.0/8"],
        }
        values.update(overrides)
        return load_settings(config_dir=tmp_path / "no-config", **values)

    return build


@pytest.fixture
def make_runtime(make_settings):
    """Build a runtime; closed after the test."""
    built: list[Runtime] = []

    def build(**overrides: object) -> Runtime:
        runtime = Runtime.build(make_settings(**overrides))
        built.append(runtime)
        return runtime

    yield build
    for runtime in built:
        runtime.close()
