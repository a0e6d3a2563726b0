"""dramatiq's metrics from a ``notifier worker`` process reach the web app's ``/metrics``."""

from __future__ import annotations

import os
import subprocess

import pytest

from notifier.services.delivery.progress import follow
from notifier.store import migrate

from support.apiclient import make_api
from support.cli import NOTIFIER
from support.factories import policy

pytestmark = pytest.mark.multiprocess


def test_the_workers_dramatiq_metrics_show_in_the_web_apps_metrics(
    redis_url, make_runtime, tmp_path
):
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate.upgrade(database_url)
    folder = tmp_path / "prometheus"
    env = {
        **os.environ,
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_BROKER_URL": redis_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
        "NOTIFIER_WEB__DRAMATIQ_METRICS_DIR": str(folder),
    }
    worker = subprocess.Popen(
        [NOTIFIER, "worker", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        runtime = make_runtime(
            database_url=database_url,
            broker_url=redis_url,
            web={"dramatiq_metrics_dir": folder},
        )
        api = make_api(runtime)
        published = api.post("/api/v1/policies", json=policy()).json()
        follow(runtime.sessions, published["trigger_id"], show=False, timeout=60)
        text = api.get("/metrics", role=None).text
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert 'dramatiq_messages_total{actor_name="fan_out"' in text, text
    assert 'dramatiq_messages_total{actor_name="deliver"' in text
    assert 'notifier_deliveries{channel="sms",status="sent"}' in text
