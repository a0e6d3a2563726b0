"""The providers page under a real deployment's shape: `notifier worker --processes 2` in
processes of their own, the page served by another runtime (the web process) on the same
PostgreSQL database. The page says what the workers use, and nothing once they stop."""

from __future__ import annotations

import re
import signal

import pytest
from fastapi.testclient import TestClient

from support.waiting import wait_until
from support.web_harness import SECRET, make_key, signed_in, web_app
from support.workers import Workers, worker_environment

REFRESH_SECONDS = 0.5
ROW = {"name": "dry-a", "channel": "短信", "kind": "dry-run", "priority": "-1", "enabled": "1"}


def _row(page: str) -> str:
    found = re.search(r"<tr><td><code>dry-a</code>.*?</tr>", page, re.S)
    assert found, page
    return found.group(0)


@pytest.mark.slow
@pytest.mark.multiprocess
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_page_says_what_two_worker_processes_use_and_nothing_once_they_stop(
    database_url, redis_url, make_runtime, tmp_path
):
    circuit = {"refresh_seconds": REFRESH_SECONDS}
    web = make_runtime(database_url=database_url, secret_key=SECRET, circuit=circuit)
    client = TestClient(web_app(web))
    csrf = signed_in(client, make_key(web, "admin"))
    added = client.post("/console/admin/providers", data={**ROW, "csrf": csrf})
    assert "服务商已添加" in added.text
    environment = worker_environment(
        tmp_path / "var",
        database_url=database_url,
        broker_url=redis_url,
        circuit__refresh_seconds=REFRESH_SECONDS,
    )
    workers = Workers(environment, tmp_path / "worker.log", processes=2)
    try:

        def row() -> str:
            return _row(client.get("/console/admin/providers").text)

        wait_until(lambda: "正在使用（2 个发送进程）" in row(), timeout=10, what="2 workers")
        client.post("/console/admin/providers/dry-a/disable", data={"csrf": csrf})
        wait_until(
            lambda: "使用" not in row(), timeout=REFRESH_SECONDS * 4, what="dry-a out of use"
        )

        workers.parent.send_signal(signal.SIGTERM)
        assert workers.parent.wait(timeout=15) == 0, workers.output()
        page = client.get("/console/admin/providers").text
        assert 'id="no-senders">没有发送进程在运行' in page  # each removed its report
    finally:
        workers.stop()
