"""The acceptance story in a real browser (Playwright driving Debian's headless Chromium)
against the real server (``notifier run`` in a subprocess, dry-run providers):

staff sign in, compose and publish a policy, see its deliveries appear and export them to
XLSX; an enterprise opens the link from its SMS and unsubscribes from SMS; the next policy
reaches it by email only.

Skipped with the reason only where no Chromium can be had and ``CI`` is unset; under CI a
missing browser fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from support.factories import credit_code
from support.web_server import PARK, Server, headless_chromium, new_key, running_notifier, sent_rows

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

WAIT_SECONDS = 60


@pytest.fixture
def browser():
    with headless_chromium() as launched:
        yield launched


@pytest.fixture
def server(tmp_path: Path):
    with running_notifier(tmp_path / "server") as running:
        yield running


def _compose_and_publish(page, server: Server, title: str, *, sms: int) -> str:
    page.goto(f"{server.url}/console/policies/new")
    page.fill("#title", title)
    page.fill("#department", "北仑区经济和信息化局")
    page.fill("#summary", "按设备投资额的10%给予补助，最高200万元。")
    # The sector finder: a code chosen from the catalogue's list joins the sectors field.
    page.fill("#sector-search", "C36")
    page.dispatch_event("#sector-search", "change")
    assert page.input_value("#sectors") == "C36" and page.input_value("#sector-search") == ""
    # The live preview counts the audience: the two enterprises under C36.
    # A text selector, not wait_for_function: the pages' CSP (rightly) forbids eval.
    page.wait_for_selector("#audience-count:text-is('2')")
    assert page.inner_text("#count-sms") == str(sms)
    if sms:
        assert int(page.inner_text("#sms-length")) > len(title)
    page.click("#publish")
    page.wait_for_selector("#published-note")
    return page.url.split("/console/policies/")[1].split("?")[0]


def test_staff_publish_export_and_an_enterprise_leaves_sms(browser, server: Server, tmp_path):
    staff = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = staff.new_page()
    # The pages' Content-Security-Policy must not stop anything of ours (inline SVG included).
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    page.goto(f"{server.url}/console/")
    assert page.url.endswith("/console/login")
    page.fill("#key", new_key(server, "staff"))
    page.click("#login")
    page.wait_for_selector("#chart-today")

    first = _compose_and_publish(page, server, "北仑区汽车零部件技术改造补助申报通知", sms=1)
    rows = sent_rows(page, server, first, 4, wait=WAIT_SECONDS)
    # Firm 1 by SMS, email and webhook; firm 2 by email; firm 3 and 4 are not under C36.
    assert len(rows) == 4, rows
    assert all(PARK[2].name not in row for row in rows)

    with page.expect_download() as download:
        page.click("#export-xlsx")
    saved = tmp_path / "deliveries.xlsx"
    download.value.save_as(saved)
    sheet = list(load_workbook(saved).active.iter_rows(values_only=True))
    header, data = sheet[0], sheet[1:]
    assert len(data) == 4
    # The console's export is in the clerk's words (see test_console_chinese.py).
    assert {r[header.index("渠道")] for r in data} == {"短信", "邮件", "网络回调"}
    assert {r[header.index("统一社会信用代码")] for r in data} == {credit_code(1), credit_code(2)}

    # The enterprise: the link in the SMS it received, in a browser of its own.
    sms = [m for m in server.outbox("sms") if m["to"].endswith(f"{1:04d}")]
    assert len(sms) == 1 and sms[0]["unsubscribe_url"].startswith(f"{server.url}/u/")
    enterprise = browser.new_context(locale="zh-CN").new_page()
    enterprise.goto(sms[0]["unsubscribe_url"])
    assert PARK[0].name in enterprise.inner_text("main")
    enterprise.click("#unsubscribe-channel")
    assert "已退订短信通知" in enterprise.inner_text("#saved")

    second = _compose_and_publish(page, server, "北仑区模具与汽车零部件企业数字化改造专项", sms=0)
    page.goto(f"{server.url}/console/deliveries?policy={second}&q={credit_code(1)}")
    rows = sent_rows(page, server, second, 3, wait=WAIT_SECONDS)
    mine = [row for row in rows if PARK[0].name in row]
    assert len(mine) == 2, rows  # email and webhook: no SMS any more
    assert not any("短信" in row for row in mine)
    assert any("邮件" in row for row in mine)
    assert blocked == []
