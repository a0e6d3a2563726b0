"""The delivery log's export of many rows: read a page at a time and streamed back, with every
row, the Chinese headers and the times as date cells; and the dashboard's counts of a large log
taken in one pass."""

from __future__ import annotations

import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from notifier.store import deliveries as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import Delivery
from notifier.web.export_pool import Databases
from notifier.web.server import start_in_thread

from support.deliveries import fanned_out
from support.exports import HeldExport
from support.factories import Firm
from support.waiting import wait_until
from support.web_harness import console_runtime, make_key, signed_in, web_app

FIRMS = 45  # three channels each: 135 deliveries, over three pages of 50
SENT = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)  # 09:30 in Beilun


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    runtime = console_runtime(make_runtime, tmp_path)
    ids = fanned_out(runtime, [Firm(n) for n in range(1, FIRMS + 1)])
    with runtime.sessions.begin() as session:
        session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(sent_at=SENT))
    return runtime


@pytest.fixture
def client(runtime, monkeypatch) -> TestClient:
    monkeypatch.setattr(store, "EXPORT_PAGE", 50)
    client = TestClient(web_app(runtime))
    signed_in(client, make_key(runtime, "staff"))
    return client


def test_the_xlsx_export_of_many_rows_is_streamed_whole_with_chinese_headers_and_dates(client):
    answer = client.get("/console/deliveries/export", params={"format": "xlsx"})
    assert answer.status_code == 200
    # Streamed back from a file, not one body of known length.
    assert "content-length" not in answer.headers
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[:4] == ("编号", "政策编号", "政策标题", "发送原因")
    assert len(rows) == 1 + 3 * FIRMS
    ids = [row[0] for row in rows[1:]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # no page twice
    sent = {row[header.index("发送时间")] for row in rows[1:]}
    assert sent == {datetime(2026, 6, 1, 9, 30)}  # a date cell, in the deployment's zone


def test_the_csv_export_of_many_rows_is_streamed_whole(client):
    answer = client.get("/console/deliveries/export", params={"format": "csv"})
    assert answer.status_code == 200 and "content-length" not in answer.headers
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["编号", "政策编号", "政策标题"] and len(rows) == 1 + 3 * FIRMS
    assert {row[rows[0].index("发送时间")] for row in rows[1:]} == {"2026-06-01 09:30"}


def test_pages_are_given_out_before_the_next_is_read(runtime):
    opened: list[int] = []

    def sessions():
        opened.append(1)
        return runtime.sessions()

    rows = store.in_pages(
        sessions, DeliveryFilter(), lambda _, page: [d.id for d in page], limit=1000, size=50
    )
    first = [next(rows) for _ in range(50)]
    assert len(first) == 50 and len(opened) == 1  # the first page out, the second not read
    rest = list(rows)
    assert len(first) + len(rest) == 3 * FIRMS and len(opened) == 3


def test_the_dashboard_counts_today_and_the_week_as_the_log_filters_count_them(runtime, client):
    now = runtime.time_source.now()
    periods = {"today": now - timedelta(hours=1), "week": now - timedelta(days=7)}
    with runtime.sessions() as session:
        together = store.channel_status_counts_since(session, periods)
        apart = {
            name: store.channel_status_counts(session, DeliveryFilter(since=since))
            for name, since in periods.items()
        }
    assert together == apart and sum(together["week"]["sms"].values()) == FIRMS
    page = client.get("/console/")
    assert page.status_code == 200 and str(3 * FIRMS) in page.text


def _cells(workbook: bytes) -> list[tuple[object, ...]]:
    return list(load_workbook(io.BytesIO(workbook)).active.iter_rows(values_only=True))


def test_the_export_is_built_in_another_process_as_this_process_would_build_it(client):
    pool = client.app.state.exports
    jobs = []
    build = pool.build

    def recording(job):
        jobs.append(job)
        return build(job)

    pool.build = recording
    answer = client.get("/console/deliveries/export", params={"format": "xlsx"})
    assert answer.status_code == 200
    assert pool.last_builder not in (None, os.getpid())  # the child wrote it, not the server
    here = io.BytesIO()
    jobs[0].write(here, Databases())  # the same job, written in this process
    rows = _cells(answer.content)
    assert rows == _cells(here.getvalue())
    assert len(rows) == 1 + 3 * FIRMS and rows[0][:3] == ("编号", "政策编号", "政策标题")
    assert rows[1][rows[0].index("发送时间")] == datetime(2026, 6, 1, 9, 30)


def test_an_export_asked_for_while_another_is_built_gets_the_busy_page(client, tmp_path):
    pool = client.app.state.exports
    held = HeldExport(started=tmp_path / "started", release=tmp_path / "release")
    first = ThreadPoolExecutor(max_workers=1).submit(lambda: b"".join(pool.build(held)))
    try:
        wait_until(held.started.exists, timeout=60, what="the first export to start")
        pool.wait = 0.1
        answer = client.get("/console/deliveries/export", params={"format": "xlsx"})
        assert answer.status_code == 503 and "导出繁忙，请稍后再试" in answer.text
    finally:
        held.release.touch()
    assert first.result(timeout=60) == b"held"
    pool.wait = 30
    assert client.get("/console/deliveries/export").status_code == 200  # its turn now
    pool.close()


def test_the_api_export_is_built_by_the_export_process_which_stops_with_the_server(runtime):
    server = start_in_thread(runtime, host="127.0.0.1", port=0)
    try:
        answer = httpx.get(
            f"{server.address}/api/v1/deliveries/export",
            headers={"Authorization": f"Bearer {make_key(runtime, 'staff')}"},
            timeout=60,
        )
        assert answer.status_code == 200
        assert len(list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))) == 1 + 3 * FIRMS
        child = server.app.state.exports.last_builder
        assert child not in (None, os.getpid())
    finally:
        server.stop()
    with pytest.raises(ProcessLookupError):  # stopped and reaped with the server
        os.kill(child, 0)
