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

from support.cli import NOTIFIER, notifier_as
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
    # The commands around the run, in this process with the run's settings: a fresh
    # interpreter would cost seconds per command (and per poll below).
    notifier = notifier_as(env, tmp_path)

    (tmp_path / "firms.csv").write_text(enterprise_csv([Firm(1), Firm(2, channels="email")]))
    notifier("enterprises", "import", str(tmp_path / "firms.csv"))
    # Ahead by more than publishing in this process takes, even on a loaded machine.
    later = (utcnow() + timedelta(seconds=5)).isoformat()
    (tmp_path / "policy.json").write_text(json.dumps(policy(published_at=later)))
    assert "scheduled" in notifier("policies", "publish", str(tmp_path / "policy.json")).stdout

    process = subprocess.Popen(
        [NOTIFIER, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:

        def all_sent() -> bool:
            rows = notifier.json("deliveries", "list", "--all")
            return len(rows) == 4 and {row["status"] for row in rows} == {"sent"}

        wait_until(all_sent, timeout=60, what="the 4 deliveries sent", every=0.2)
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
