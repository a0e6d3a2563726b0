"""Screenshots of the main pages in Chinese and English, for docs/screenshots/.

    .venv/bin/python tests/support/screenshots.py [OUTPUT_FOLDER]

Starts the real server (``notifier run``, dry-run providers) on a demo park, publishes two
policies from the console (one with a deadline), saves a template, creates a campaign and
photographs each page in both languages with Debian's headless Chromium.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

# Run as a script: tests/ on the path, so the support package imports as it does under pytest.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.cli import notifier_as  # noqa: E402
from support.factories import credit_code  # noqa: E402
from support.paths import REPO  # noqa: E402
from support.waiting import wait_until  # noqa: E402
from support.web_server import Server, find_chromium, running_notifier  # noqa: E402

DOCS = REPO / "docs" / "screenshots"
LANGUAGES = ("zh-CN", "en")
ADMIN, PASSWORD = "大碶街道 李科员", "Beilun-2026-screens"
POLICIES = (
    {
        "title": "北仑区汽车零部件技术改造补助申报通知",
        "summary": "按设备投资额的10%给予补助，单个项目最高200万元。",
        "sectors": "C36",
        "deadline_title_1": "申报截止",
        "deadline_due_1": "2026-12-31T17:00",
    },
    {
        "title": "2026年度北仑区专精特新企业培育计划",
        "summary": "入库企业享受研发费用后补助与人才政策。",
        "sectors": "C35, C39",
    },
)


def _save_template(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/console/templates")
    page.fill("#tpl-name", "tech-grant")
    page.fill("#tpl-body", "{{ enterprise.name }}：技改补助申报将于12月31日截止，请及时申报。")
    page.click("#template-form button[type=submit]")
    page.wait_for_selector("#template-note")


def _create_campaign(page: Page, server: Server) -> None:
    # The form as a clerk fills it: weekly on Monday at 09:00 and SMS are preset.
    page.goto(f"{server.url}/console/campaigns/new")
    page.fill("#title", "技术改造补助申报提醒")
    page.fill("#sectors", "C36")
    page.fill("#template_sms", "{{ enterprise.name }}：技改补助申报将于12月31日截止，请及时申报。")
    page.click("#campaign-create")
    page.wait_for_selector("#campaign-note")


def _sign_in(page: Page, server: Server) -> None:
    # As a person, by name and password: the header shows who is signed in.
    page.goto(f"{server.url}/console/login")
    page.fill("#name", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("#login-name")
    page.wait_for_selector("#chart-today")


def _counted(page: Page) -> None:
    # A selector, not wait_for_function: the pages' CSP (rightly) forbids eval.
    page.wait_for_selector("#audience-count:text-matches('^[0-9]')")


def _publish(page: Page, server: Server, fields: dict[str, str]) -> None:
    page.goto(f"{server.url}/console/policies/new")
    page.fill("#department", "北仑区经济和信息化局")
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    _counted(page)
    page.click("#publish")
    page.wait_for_selector("#published-note")


def _settle(page: Page, server: Server) -> None:
    def nothing_queued() -> bool:
        page.goto(f"{server.url}/console/deliveries?status=queued")
        return "#" not in " ".join(page.locator("#delivery-log tr").all_inner_texts()[1:])

    wait_until(nothing_queued, timeout=60, what="the queue to empty", every=0.5)


def _firms_act(page: Page, server: Server) -> None:
    """Two firms of the first policy answer on their pages (from their messages' links): one
    confirms, one asks a question; the reach card and the follow-up list have something to
    show."""
    found = set()
    for message in server.outbox("sms") + server.outbox("email"):
        found.update(re.findall(r"https?://[^\s\"<>]+/p/1-[A-Za-z0-9._-]+", message["text"]))
    first, second = sorted(found)[:2]
    page.goto(first)
    page.click("#confirm")
    page.goto(second)
    page.fill("#question", "设备发票是否需要原件？申报表可以电子签章吗？")
    page.fill("#callback", "13800138000")
    page.click("#ask")


def take(out: Path) -> list[Path]:
    """Photograph the main pages into ``out``; the files written."""
    chromium, why = find_chromium()
    if chromium is None:
        raise SystemExit(f"no Chromium: {why}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with (
        tempfile.TemporaryDirectory() as folder,
        running_notifier(Path(folder)) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        notifier_as(server.env, server.folder)(
            "users", "add", "--name", ADMIN, "--role", "admin", "--password-stdin",
            input=f"{PASSWORD}\n",
        )  # fmt: skip
        _sign_in(page, server)
        for fields in POLICIES:
            _publish(page, server, fields)
        _settle(page, server)
        _firms_act(page, server)
        _save_template(page, server)
        _create_campaign(page, server)
        sms = [m for m in server.outbox("sms") if m["to"].endswith("0001")]
        pages = {
            "policies": "/console/policies",
            "compose": "/console/policies/new",
            "policy": "/console/policies/1",
            "deadlines": "/console/deadlines?month=2026-12",
            "deadline": "/console/deadlines/1",
            "correct": "/console/policies/1/correct",
            "enterprises": "/console/enterprises",
            "enterprise": f"/console/enterprises/{credit_code(1)}",
            "deliveries": "/console/deliveries",
            "delivery": "/console/deliveries/1",
            "admin": "/console/admin",
            "templates": "/console/templates",
            "template": "/console/templates/tech-grant",
            "providers": "/console/admin/providers",
            "users": "/console/admin/users",
            "campaign_form": "/console/campaigns/new",
            "campaigns": "/console/campaigns",
            "campaign": f"/console/campaigns/1?enterprise={credit_code(1)}",
            "preferences": sms[0]["unsubscribe_url"].removeprefix(server.url),
            "followups": "/console/followups",
            # Last: its figures are kept 5 seconds, and the sign-in above showed it empty.
            "dashboard": "/console/",
        }
        for language in LANGUAGES:
            context.add_cookies([{"name": "lang", "value": language, "url": server.url}])
            for name, path in pages.items():
                page.goto(f"{server.url}{path}")
                if name == "compose":
                    page.fill("#title", POLICIES[0]["title"])
                    page.fill("#department", "北仑区经济和信息化局")
                    page.fill("#summary", POLICIES[0]["summary"])
                    page.fill("#sectors", "C36")
                    _counted(page)
                target = out / f"{name}.{language}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            context.clear_cookies()
            page.goto(f"{server.url}/lang/{language}?next=/console/login")
            page.screenshot(path=str(out / f"login.{language}.png"))
            written.append(out / f"login.{language}.png")
            _sign_in(page, server)
        browser.close()
    return written


if __name__ == "__main__":
    for path in take(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS):
        print(path)
