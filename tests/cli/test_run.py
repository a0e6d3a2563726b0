"""``notifier run``: the whole system in one process on SQLite, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import timedelta

import pytest

from notifier.store import migrate
from notifier.store.models.base import utcnow

from support.cli import NOTIFIER, run_notifier
from support.factories import Firm, enterprise_csv, policy
from support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]


def test_notifier_run_sends_a_policy_scheduled_for_later_when_its_time_comes_and_stops_cleanly(
    tmp_path,
):
    database_url = f"sqlite:///{tmp_path / 'notifier.db'}"
    migrate.upgrade(database_url)
    env = {
        **os.environ,
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
        "NOTIFIER_CLOCK__SCAN_INTERVAL_SECONDS": "0.5",
        "NOTIFIER_WEB__PORT": "0",  # any free port: other runs may hold 8000
    }

    def notifier(*args: str) -> str:
        done = run_notifier(*args, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    (tmp_path / "firms.csv").write_text(enterprise_csv([Firm(1), Firm(2, channels="email")]))
    notifier("enterprises", "import", str(tmp_path / "firms.csv"))
    # Far enough ahead that a slow start of the CLI on a loaded machine still finds it ahead.
    later = (utcnow() + timedelta(seconds=15)).isoformat()
    (tmp_path / "policy.json").write_text(json.dumps(policy(published_at=later)))
    assert "scheduled" in notifier("policies", "publish", str(tmp_path / "policy.json"))

    process = subprocess.Popen(
        [NOTIFIER, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:

        def all_sent() -> bool:
            rows = json.loads(notifier("deliveries", "list", "--all", "--format", "json"))
            return len(rows) == 4 and {row["status"] for row in rows} == {"sent"}

        wait_until(all_sent, timeout=60, what="the 4 deliveries sent", every=0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)

    assert process.returncode == 0, output
    assert "Traceback" not in output
    outbox = tmp_path / "var" / "outbox"
    assert sorted(p.parent.name for p in outbox.glob("*/*.json")) == [
        "email",
        "email",
        "sms",
        "webhook",
    ]
