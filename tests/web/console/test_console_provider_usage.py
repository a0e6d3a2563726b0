"""The providers page says what the sending processes use now, as each of them reports it,
not what the web process's own catalog or the rows say: two senders with catalogs of their own
on one database, a change on its way, a stale report, a process that stops, and one process that
sends and serves the page (``notifier run``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from notifier.domain.secret_box import new_key
from notifier.jobs.usage_reporter import UsageReporter
from notifier.services.providers.catalog import Loaded
from notifier.services.providers.usage import process_name, report
from notifier.web import i18n

from support.cli import notifier_on
from support.waiting import wait_until
from support.web_harness import SECRET, console_runtime, make_key, signed_in, web_app

REFRESH_SECONDS = 0.5
SETTINGS = {"circuit": {"refresh_seconds": REFRESH_SECONDS}}
ROW = {"name": "dry-a", "channel": "短信", "kind": "dry-run", "priority": "-1", "enabled": "1"}


@pytest.fixture
def web(make_runtime, tmp_path):
    """The web process's runtime: it serves the page and sends nothing."""
    return console_runtime(make_runtime, tmp_path, secrets={"keys": [new_key()]}, **SETTINGS)


@pytest.fixture
def reporters():
    started: list[UsageReporter] = []
    yield started
    for reporter in started:
        reporter.stop()


def _sender(runtime, reporters: list[UsageReporter], role: str = "worker") -> UsageReporter:
    """What `notifier worker` (or `run`) starts; one per test process, hence the number."""
    reporter = UsageReporter(
        sessions=runtime.sessions,
        settings=runtime.settings,
        catalog=runtime.catalog,
        time_source=runtime.time_source,
        process=f"{process_name(role)}:{len(reporters)}",
    ).start()
    reporters.append(reporter)
    return reporter


def _worker(make_runtime, web):
    """Another process's runtime on the web's database: its own engine and catalog."""
    settings = web.settings
    return make_runtime(
        database_url=settings.database_url,
        secret_key=SECRET,
        secrets={"keys": [k.get_secret_value() for k in settings.secrets.keys]},
        **SETTINGS,
    )


def _row(page: str, name: str) -> str:
    found = re.search(rf"<tr><td><code>{re.escape(name)}</code>.*?</tr>", page, re.S)
    assert found, page
    return found.group(0)


def _sms_in_use(page: str) -> str:
    found = re.search(r'<code data-channel="sms">([^<]*)</code>', page)
    assert found, page
    return found.group(1)


def _heading(page: str) -> str:
    found = re.search(r'<p id="providers-in-use">(.*?)</p>', page, re.S)
    assert found, page
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_two_senders_report_a_disabled_provider_out_of_use_within_the_refresh_interval(
    web, make_runtime, reporters, tmp_path
):
    client = _client(web)
    csrf = signed_in(client, make_key(web, "admin"))
    first, second = (_sender(_worker(make_runtime, web), reporters) for _ in range(2))
    added = client.post("/console/admin/providers", data={**ROW, "csrf": csrf})
    assert "服务商已添加" in added.text

    def page() -> str:
        return client.get("/console/admin/providers").text

    wait_until(
        lambda: "正在使用（2 个发送进程）" in _row(page(), "dry-a"),
        timeout=REFRESH_SECONDS * 5,
        what="both senders using dry-a",
    )
    shown = page()
    assert _sms_in_use(shown) == "dry-a"
    assert "2 个发送进程报告" in _heading(shown)
    listed = notifier_on(web.settings.database_url, tmp_path)("providers", "list").output
    assert "dry-a: sms dry-run" in listed and "正在使用（2 个发送进程）" in listed

    disabled = client.post("/console/admin/providers/dry-a/disable", data={"csrf": csrf})
    assert "已停用" in disabled.text
    # Neither sender sends through it within the interval, the page reports no 正在使用.
    wait_until(
        lambda: "使用" not in _row(page(), "dry-a"),
        timeout=REFRESH_SECONDS * 3,
        what="dry-a out of use in both senders",
    )
    assert _sms_in_use(page()) != "dry-a"

    first.stop()
    assert "1 个发送进程报告" in _heading(page())
    second.stop()
    after = page()
    assert "没有发送进程在运行" in _heading(after) and "服务商记录" in _heading(after)
    listed = notifier_on(web.settings.database_url, tmp_path)("providers", "list").output
    assert "没有发送进程在运行 / no sending process is running" in listed


def test_a_change_on_its_way_shows_as_partial_and_a_stale_report_is_left_out(web):
    client = _client(web)
    csrf = signed_in(client, make_key(web, "admin"))
    client.post("/console/admin/providers", data={**ROW, "csrf": csrf})
    now = web.time_source.now()
    old = Loaded(channels={"sms": ["dry-a"]}, broken={}, version="v1")
    new = Loaded(channels={"sms": ["sms-default"]}, broken={}, version="v2")
    for process, loaded, when in (
        ("host-a:1:worker", old, now),
        ("host-b:2:worker", new, now),
        ("host-c:3:worker", old, now - timedelta(seconds=REFRESH_SECONDS * 4)),  # gone
    ):
        report(web.sessions, web.settings, process=process, loaded=loaded, now=when)
    shown = client.get("/console/admin/providers").text
    assert "部分进程使用（1/2）" in _row(shown, "dry-a")
    assert "2 个发送进程报告" in _heading(shown)
    assert _sms_in_use(shown) == "dry-a, sms-default"

    client.cookies.set(i18n.COOKIE, i18n.EN)
    english = client.get("/console/admin/providers").text
    assert "used by some sending processes (1/2)" in _row(english, "dry-a")
    assert "(2 sending processes report)" in _heading(english)


def test_one_process_that_sends_and_serves_the_page_shows_a_change_at_once(web, reporters):
    _sender(web, reporters, role="run")  # `notifier run`: the web's catalog is the senders'
    client = _client(web)
    csrf = signed_in(client, make_key(web, "admin"))
    added = client.post("/console/admin/providers", data={**ROW, "csrf": csrf})
    assert "正在使用（1 个发送进程）" in _row(added.text, "dry-a")
    assert _sms_in_use(added.text) == "dry-a"
    disabled = client.post("/console/admin/providers/dry-a/disable", data={"csrf": csrf})
    assert "使用" not in _row(disabled.text, "dry-a")
    assert _sms_in_use(disabled.text) != "dry-a"


def test_with_no_sender_the_page_says_so_and_labels_what_the_rows_say(web):
    client = _client(web)
    csrf = signed_in(client, make_key(web, "admin"))
    added = client.post("/console/admin/providers", data={**ROW, "csrf": csrf})
    assert "没有发送进程在运行" in _heading(added.text)
    assert "按记录应使用" in _row(added.text, "dry-a")
    assert _sms_in_use(added.text) == "dry-a"


def _client(runtime) -> TestClient:
    return TestClient(web_app(runtime))
