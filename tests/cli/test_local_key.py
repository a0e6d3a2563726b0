"""A development install makes its own secrets key at the first ``notifier run``: kept in the
var directory with mode 0600, said once, and used by every command thereafter (a provider
with a secret can then be added at once); production still needs a configured key. A provider
row that cannot run does not stop ``notifier run``."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from notifier.cli.local_key import KEY_FILE, create_local_key, with_local_key
from notifier.config import load_settings
from notifier.store import migrate
from notifier.store import providers as store
from notifier.store.db import create_db_engine, create_session_factory
from notifier.store.models.base import utcnow

from support.cli import NOTIFIER
from support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]


def _start_and_stop(env: dict[str, str], log: Path) -> str:
    """Run ``notifier run --no-web`` until it says it runs, then stop it; its output."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [NOTIFIER, "run", "--no-web"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_until(
                lambda: "notifier running" in log.read_text() or process.poll() is not None,
                timeout=60, what="notifier run started", every=0.2,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    output = log.read_text()
    assert "notifier running" in output and "Traceback" not in output, output
    return output


def test_the_first_run_makes_a_private_key_file_and_the_second_reuses_it(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'notifier.db'}"
    migrate.upgrade(database_url)
    var = tmp_path / "var"
    env = {**os.environ, "NOTIFIER_DATABASE_URL": database_url, "NOTIFIER_VAR_DIR": str(var)}
    env.pop("NOTIFIER_SECRETS__KEYS", None)

    first = _start_and_stop(env, tmp_path / "first.log")
    key_file = var / KEY_FILE
    assert first.count(str(key_file)) == 1 and "NOTIFIER_SECRETS__KEYS" in first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()

    # A row that cannot run (written before rows were checked) does not stop the next start.
    engine = create_db_engine(database_url)
    with create_session_factory(engine).begin() as session:
        store.add_provider(
            session, name="tx-old", channel="sms", kind="tencent-sms", priority=0, enabled=True,
            options={"sign_name": "北仑企服"}, secret_encrypted=None, now=utcnow(),
        )
    engine.dispose()

    second = _start_and_stop(env, tmp_path / "second.log")
    assert "tx-old" in second  # left out, with its reason logged
    assert str(key_file) not in second
    assert key_file.read_text() == key


def test_a_configured_key_or_production_makes_no_key_file(tmp_path):
    var = tmp_path / "var"
    configured = load_settings(var_dir=var, secrets={"keys": ["x" * 43 + "="]})
    assert create_local_key(configured) == (configured, None)
    production = load_settings(var_dir=var).model_copy(update={"environment": "production"})
    assert create_local_key(production) == (production, None)
    assert not (var / KEY_FILE).exists()
    # Elsewhere the key is made once, then read by every command.
    made, path = create_local_key(load_settings(var_dir=var))
    assert path == var / KEY_FILE and len(made.secrets.keys) == 1
    again = with_local_key(load_settings(var_dir=var))
    assert again.secrets.keys[0].get_secret_value() == made.secrets.keys[0].get_secret_value()
