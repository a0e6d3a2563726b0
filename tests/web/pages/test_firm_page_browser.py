"""The firm's page in a real browser on a phone-sized screen (Playwright driving Debian's
headless Chromium against ``notifier run``): the link from the firm's email opens the page,
375 px wide with nothing wider than the screen; the page's own script, under the pages'
Content-Security-Policy, records ``opened`` once; 已知晓 is a plain form post."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from support.waiting import wait_until
from support.web_server import Server, headless_chromium, running_notifier

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

PHONE = {"width": 375, "height": 812}
POLICY = {
    "ref": "phone-1",
    "title": "北仑区汽车零部件技术改造补助申报通知",
    "department": "北仑区经济和信息化局",
    "summary": "按设备投资额的10%给予补助，单个项目最高200万元。",
    "url": "https://www.bl.gov.cn/art/2026/12/1/art_1229_3912345.html",
    "targets": {"sectors": ["C36"]},
    "eligibility": "在北仑区注册的规上汽车零部件企业；上年度技改投入超过500万元。",
    "materials": "1. 申报表\n2. 设备购置发票复印件\n3. 营业执照复印件",
    "office_address": "北仑区行政服务中心3楼经信窗口（新碶街道四明山路700号）",
    "apply_url": "https://zwfw.zjzwfw.gov.cn/col/col1229345678/index.html?areacode=330206",
    "enquiry_phone": "0574-86781234",
}


def _events(server: Server) -> list[str]:
    with sqlite3.connect(server.folder / "notifier.db") as connection:
        return [row[0] for row in connection.execute("SELECT kind FROM reach_events ORDER BY id")]


def test_the_page_from_the_email_reads_on_a_phone_and_its_script_records_opened_once(
    tmp_path: Path,
):
    with headless_chromium() as browser, running_notifier(tmp_path / "server") as server:
        policy_file = tmp_path / "policy.json"
        policy_file.write_text(json.dumps(POLICY, ensure_ascii=False), encoding="utf-8")
        server.cli("policies", "publish", str(policy_file))
        wait_until(
            lambda: any("/p/" in m["text"] for m in server.outbox("email")),
            timeout=60, what="the policy's email", every=0.3,
        )  # fmt: skip
        mail = next(m for m in server.outbox("email") if "/p/" in m["text"])
        url = re.search(r"http://\S+/p/\S+", mail["text"]).group(0)
        phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        page = phone.new_page()
        page.goto(url)
        page.wait_for_selector("#policy-title")
        assert "申报条件" in page.inner_text("#guide")
        wait_until(lambda: _events(server) == ["opened"], timeout=30, what="opened", every=0.2)
        for selector in ("main", "#guide", "#actions", "#deadlines"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "firm-page.png"), full_page=True)
        page.reload()
        page.click("#confirm")
        page.wait_for_selector("#saved")
        assert _events(server) == ["opened", "confirmed"]
