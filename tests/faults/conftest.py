"""Fixtures of the fault suite: a log folder, the processes, a database and a namespace per
scenario, and the table of figures printed at the end of the run."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from faults import harness, report
from notifier.store import migrate


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest hook
    if harness.SESSION_RESULTS:
        terminalreporter.write_sep("-", f"fault suite figures ({harness.SCALE})")
        terminalreporter.write_line(report.table(harness.SESSION_RESULTS))
        terminalreporter.write_line(f"(appended to {harness.RESULTS})")


@pytest.fixture
def log_dir(request: pytest.FixtureRequest) -> Path:
    """This scenario's log folder under var/faults/logs, emptied first."""
    folder = harness.LOGS / request.node.name.replace("/", "_")[:80]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def processes(log_dir: Path) -> Iterator[harness.Processes]:
    """Every process the scenario starts; all stopped at the end, passed or failed."""
    started = harness.Processes(log_dir)
    try:
        yield started
    finally:
        started.stop_all()


def service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail under CI: the fault suite must run there."""
    message = f"{what} is not reachable: {error}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run these tests; start the service)")
    pytest.skip(message)


@pytest.fixture
def shared_redis() -> Iterator[tuple[str, str]]:
    """The shared Redis and a namespace of this scenario's own, whose keys go afterwards."""
    client = redis.Redis.from_url(harness.REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing("Redis", exc)
    finally:
        client.close()
    namespace = f"notifier-faults-{uuid.uuid4().hex[:12]}"
    yield harness.REDIS_URL, namespace
    harness.delete_namespace(harness.REDIS_URL, namespace)


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    """The name of a database migrated once for the session, for the scenarios to copy."""
    try:
        with harness.shared_database() as url:
            migrate.upgrade(url)
            yield sa.make_url(url).database or ""
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)


@pytest.fixture
def database(migrated_template: str) -> Iterator[str]:
    """A database of this scenario's own on the shared PostgreSQL server: a copy of the
    migrated template (copying takes a fraction of a second; ``db upgrade`` then has nothing
    to do)."""
    try:
        with harness.shared_database(template=migrated_template) as url:
            yield url
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)
