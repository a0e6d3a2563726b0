"""A worker or clock started before its database (a host booting, PostgreSQL restarting) waits
for it instead of exiting: nothing would start a clock again that had given up."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid

import pytest
import sqlalchemy as sa

from notifier.store import migrate

from support.cli import NOTIFIER
from support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.multiprocess]


def test_a_clock_started_before_its_database_waits_and_runs_once_it_is_there(
    postgres_database, redis_url, tmp_path
):
    later = sa.make_url(postgres_database).set(database=f"notifier_late_{uuid.uuid4().hex[:8]}")
    env = {
        **os.environ,
        "NOTIFIER_DATABASE_URL": later.render_as_string(hide_password=False),
        "NOTIFIER_REDIS_URL": redis_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
    }
    clock = subprocess.Popen(
        [NOTIFIER, "clock"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(clock.stdout or ()), daemon=True)
    reader.start()
    admin = sa.create_engine(
        sa.make_url(postgres_database).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        wait_until(lambda: any("waiting" in line for line in lines), timeout=60,
                   what="the clock waiting for its database")  # fmt: skip
        assert clock.poll() is None
        # Migrated under another name first: the clock sees it appear whole (a database
        # without notifier's tables is a refusal, not a wait).
        building = later.set(database=f"{later.database}_build")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{building.database}"'))
        migrate.upgrade(building.render_as_string(hide_password=False))
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'ALTER DATABASE "{building.database}" RENAME TO "{later.database}"')
            )
        wait_until(lambda: any("clock running" in line for line in lines), timeout=60,
                   what="the clock running once the database is there")  # fmt: skip
    finally:
        clock.send_signal(signal.SIGTERM)
        clock.wait(timeout=30)
        reader.join(timeout=10)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{later.database}" WITH (FORCE)'))
        admin.dispose()
