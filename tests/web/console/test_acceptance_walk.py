"""The acceptance walk-through of issue 16 in a real browser (Playwright driving Debian's
headless Chromium) against the real server (``notifier run`` in a subprocess: web, workers
and clock):

A. a clerk who never read the README signs in with a name and password, imports an XLSX
   register (street and community columns, no webhook, topics or channels) through the
   mapping step and downloads its bad rows, composes a policy by the sector's Chinese name
   and a street's box with two deadlines, sees the live count, publishes, corrects it with
   "notify", and makes a weekly campaign without JSON, Jinja syntax or cron, previews it for
   the audience's first firm, pauses and resumes it, and test-sends it to a phone;
B. an admin adds a Tencent Cloud SMS account with a template for every message kind, pointed
   at the loopback vendor, test-sends through it, sees the workers take it up and disables it.

Skipped with the reason only where no Chromium can be had and ``CI`` is unset; under CI a
missing browser fails the test (see test_browser.py).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from notifier.domain.secret_box import new_key as new_secret_key

from support.cli import notifier_as
from support.factories import SECRET_ID, SECRET_KEY, TENCENT_TEMPLATES, credit_code
from support.sheets import xlsx_bytes
from support.vendor_peers import TencentSmsPeer
from support.waiting import wait_until
from support.web_server import Server, headless_chromium, running_notifier, sent_rows

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

WAIT_SECONDS = 30
PASSWORD = "beilun-2026-walk"
# The register's street and community are joined under this prefix (the PARK firms' own).
PREFIX = "浙江省/宁波市/北仑区"
REFRESH_SECONDS = 2  # provider rows re-read by the workers this often
HEADER = ["序号", "单位名称", "统一社会信用代码", "所属行业", "所属街道", "所属社区", "企业规模",
          "联系电话", "电子邮箱"]  # fmt: skip


def _firm_row(number: int, street: str, *, code: str | None = None, phone: str = "") -> list[str]:
    return [
        str(number), f"北仑导入测试{number}有限公司", code or credit_code(number), "C3670", street,
        "横杨社区" if street == "大碶街道" else "霞浦社区", "小型",
        phone or f"1390000{number:04d}", f"firm{number}@example.cn",
    ]  # fmt: skip


BAD_CODE = "913302060000000000"
REGISTER = [
    _firm_row(11, "大碶街道"),
    _firm_row(12, "大碶街道"),
    _firm_row(13, "霞浦街道"),
    _firm_row(14, "大碶街道", code=BAD_CODE),  # its check digit is wrong
    _firm_row(15, "大碶街道", phone="12345"),  # no phone number
]


@pytest.fixture(scope="module")
def browser():
    """One Chromium for both walks (each has contexts of its own: no cookie or page shared)."""
    with headless_chromium() as launched:
        yield launched


@pytest.fixture
def peer():
    with TencentSmsPeer(keys={SECRET_ID: SECRET_KEY}) as tencent:
        yield tencent


@pytest.fixture
def server(tmp_path: Path):
    settings = {
        "NOTIFIER_SECRETS__KEYS": json.dumps([new_secret_key()]),
        "NOTIFIER_ALLOWED_PROVIDER_TARGETS": json.dumps(["127.0.0.0/8"]),
        "NOTIFIER_IMPORTS__REGION_PREFIX": PREFIX,
        "NOTIFIER_CIRCUIT__REFRESH_SECONDS": str(REFRESH_SECONDS),
    }
    with running_notifier(tmp_path / "server", settings=settings) as running:
        # Far years, so the real clock never passes the deadlines' dates.
        running.cli("calendar", "complete", "2031")
        yield running


def _add_user(server: Server, name: str, role: str) -> None:
    """``notifier users add`` as the first admin runs it, the password on standard input."""
    notifier = notifier_as(server.env, server.folder)
    added = notifier("users", "add", "--name", name, "--role", role, "--password-stdin",
                     input=f"{PASSWORD}\n")  # fmt: skip
    assert name in added.stdout


def _sign_in(browser, server: Server, name: str, role: str):
    _add_user(server, name, role)
    page = browser.new_context(accept_downloads=True, locale="zh-CN").new_page()
    page.set_default_timeout(WAIT_SECONDS * 1000)
    page.goto(f"{server.url}/console/")
    assert page.url.endswith("/console/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#login-name")
    page.wait_for_selector("#chart-today")
    assert name in page.inner_text("header")
    return page


# --- A. the clerk --------------------------------------------------------------------------


def _import_register(page, server: Server, tmp_path: Path) -> None:
    upload = tmp_path / "北仑区企业名册.xlsx"
    upload.write_bytes(xlsx_bytes(HEADER, REGISTER))
    page.goto(f"{server.url}/console/enterprises")
    page.set_input_files("#file", str(upload))
    page.click("#enterprise-import button[type=submit]")
    # The mapping step: every column with its samples and the field it holds, preset.
    page.wait_for_selector("#import-mapping")
    chosen = [page.input_value(f"#field_{i}") for i in range(len(HEADER))]
    assert chosen == ["", "name", "credit_code", "sectors", "street", "community", "size",
                      "phone", "email"], chosen  # fmt: skip
    assert "北仑导入测试11有限公司" in page.inner_text("#import-mapping")
    page.click("#import-mapping button[type=submit]")
    report = page.inner_text("#import-report")
    assert "新增 3 家" in report and "有误 2 行" in report, report

    with page.expect_download() as download:
        page.click("#bad-rows")
    saved = tmp_path / "bad-rows.xlsx"
    download.value.save_as(saved)
    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0] == (*HEADER, "错误原因")
    assert [row[1] for row in rows[1:]] == ["北仑导入测试14有限公司", "北仑导入测试15有限公司"]
    reasons = [row[-1] for row in rows[1:]]
    assert "统一社会信用代码" in reasons[0] and "校验位" in reasons[0], reasons
    assert "联系电话" in reasons[1], reasons

    page.goto(f"{server.url}/console/enterprises?q=北仑导入测试")
    listed = page.inner_text("#enterprise-list")
    assert f"{PREFIX}/大碶街道/横杨社区" in listed
    assert "北仑导入测试14有限公司" not in listed


def _pick_sector_by_name(page, typed: str, name: str) -> str:
    """Type ``typed`` in the sector finder and take the class (4 digits) called ``name`` from
    the entries the browser offers (its group of the same name is offered too); its code."""
    page.fill("#sector-search", typed)
    offered = page.locator("#sector-catalogue option", has_text=typed)
    entries = {option.get_attribute("value") or "": option.inner_text() for option in offered.all()}
    [code] = [c for c, text in entries.items() if len(c) == 5 and text.endswith(f" {name}")]
    page.fill("#sector-search", code)  # what choosing the entry puts in the box
    page.dispatch_event("#sector-search", "change")
    return code


def _compose_and_publish(page, server: Server) -> str:
    page.goto(f"{server.url}/console/policies/new")
    page.fill("#title", "北仑区汽车零部件企业技术改造补助申报通知")
    page.fill("#department", "北仑区经济和信息化局")
    page.fill("#summary", "按设备投资额的10%给予补助，最高200万元。")
    code = _pick_sector_by_name(page, "汽车", "汽车零部件及配件制造")
    assert code == "C3670" and page.input_value("#sectors") == "C3670"
    # Under C3670: the park's firms 1 and 2 and the three imported ones.
    page.wait_for_selector("#audience-count:text-is('5')")

    # A street is a click in the region picker; the count follows while the clock runs.
    street = page.locator("#region-picker label", has_text="大碶街道")
    started = time.monotonic()
    with page.expect_response("**/console/policies/preview") as answered:
        street.click()
    page.wait_for_selector("#audience-count:text-is('4')")
    seconds = time.monotonic() - started
    timing = answered.value.request.timing
    print(
        f"\npreview count after the street's click: {seconds:.3f} s "
        f"(the preview's request {timing['responseEnd'] - timing['requestStart']:.0f} ms "
        "after the page's 300 ms pause for typing)"
    )
    assert seconds <= 5, f"the count took {seconds:.1f} s"  # 1 s is the aim; loaded CI is slow
    assert page.inner_text("#count-sms") == "3"  # firm 1 and the two imported in 大碶街道
    assert page.inner_text("#count-email") == "4"

    rows = [("申报截止", "2031-06-30T17:00", "5wd 2wd 0d"),
            ("材料补交截止", "2031-07-15T17:00", "7d 3d 1d")]  # fmt: skip
    for number, (title, due, ladder) in enumerate(rows, start=1):
        page.fill(f"#deadline_title_{number}", title)
        page.fill(f"#deadline_due_{number}", due)
        page.select_option(f"#deadline_ladder_{number}", ladder)
    page.click("#publish")
    note = page.inner_text("#published-note")
    assert "已发布" in note
    policy_id = page.url.split("/console/policies/")[1].split("?")[0]
    listed = [row.split("\t")[:3] for row in page.locator("#policy-deadlines tr").all_inner_texts()]
    assert listed[1:] == [
        ["申报截止", "2031-06-30 17:00", "截止前 5 个工作日、截止前 2 个工作日、截止当天"],
        ["材料补交截止", "2031-07-15 17:00", "截止前 7 天、截止前 3 天、截止前 1 天"],
    ], listed
    return policy_id


def _correct_and_notify(page, server: Server, policy_id: str) -> None:
    # 4 firms: 3 SMS, 4 emails and firm 1's webhook.
    reached = sent_rows(page, server, policy_id, 8, wait=WAIT_SECONDS)
    assert len(reached) == 8, reached
    assert all("所属行业 C3670（汽车零部件及配件制造）在发送范围内" in r for r in reached)
    page.goto(f"{server.url}/console/policies/{policy_id}/correct")
    assert page.input_value("#title") == "北仑区汽车零部件企业技术改造补助申报通知"
    assert page.input_value("#deadline_ladder_1") == "5wd 2wd 0d"
    page.fill("#summary", "按设备投资额的12%给予补助，最高200万元。")
    page.fill("#deadline_due_2", "2031-07-31T17:00")
    page.check("#notify")
    page.click("#publish")
    # Side by side, nothing saved yet.
    page.wait_for_selector("#changed-fields")
    summary = page.locator("#change-summary")
    assert "10%" in summary.locator(".before").inner_text()
    assert "12%" in summary.locator(".after").inner_text()
    deadlines = page.inner_text("#change-deadlines")
    assert "2031-07-15 17:00" in deadlines and "2031-07-31 17:00" in deadlines
    assert page.locator("#change-title").count() == 0
    assert page.is_checked("#notify")
    page.click("#publish")
    assert "正在向企业发送更正通知" in page.inner_text("#published-note")
    # The correction reaches every firm and channel the publication did, and says why.
    rows = sent_rows(page, server, policy_id, 2 * len(reached), wait=WAIT_SECONDS)
    corrected = [r for r in rows if "此前已收到该政策" in r]
    assert len(corrected) == len(reached), rows


def _create_weekly_campaign(page, server: Server) -> str:
    page.goto(f"{server.url}/console/campaigns/new")
    page.fill("#title", "2027年北仑区技术改造补助申报提醒")
    page.check("#campaign-words input[name=channels][value=sms]")
    _pick_sector_by_name(page, "汽车", "汽车零部件及配件制造")
    page.locator("#region-picker label", has_text="大碶街道").click()
    # The SMS text: typed words and a variable inserted by its chip, at the cursor.
    page.click("#template_sms")
    page.keyboard.type("尊敬的")
    page.click("#variables button.chip[data-insert='{{ enterprise.name }}']")
    page.keyboard.type("：技术改造补助开始申报，请登录政务网查看。")
    assert page.input_value("#template_sms") == (
        "尊敬的{{ enterprise.name }}：技术改造补助开始申报，请登录政务网查看。"
    )
    page.check("input[name=repeat][value=weekly]")
    page.select_option("#weekday", label="周一")
    page.fill("#at", "09:00")
    page.click("#campaign-preview")
    preview = page.inner_text("#preview-sms")
    # The chip's variable rendered for the audience's first firm, the SMS counted.
    firm = re.search(r"预览：(.+)（", page.inner_text("#preview-firm"))
    assert firm and f"尊敬的{firm.group(1)}：技术改造补助" in preview, preview
    assert "短信字数" in page.inner_text("#preview-sms-count")
    page.click("#campaign-create")
    assert "推送活动已创建" in page.inner_text("#campaign-note")
    assert page.inner_text("#campaign-status") == "计划中"
    schedule = page.inner_text("main dl")
    assert "每周周一 09:00" in schedule and "0 9 * * MON" in schedule, schedule

    page.click(".actions button:text-is('暂停')")
    assert page.inner_text("#campaign-status") == "已暂停"
    assert "已暂停" in page.inner_text("#campaign-note")
    page.click(".actions button:text-is('恢复')")
    assert page.inner_text("#campaign-status") == "计划中"
    assert "已恢复" in page.inner_text("#campaign-note")
    return page.url.split("/console/campaigns/")[1].split("?")[0]


def _test_send_campaign(page, server: Server, campaign_id: str, to: str) -> None:
    """Send the campaign's message to ``to`` from its console page and see it taken."""
    page.goto(f"{server.url}/console/campaigns/{campaign_id}")
    page.fill("#to_sms", to)
    page.click("#test-send")
    outcome = page.inner_text("#tested-sms")
    assert "已发送" in outcome, outcome
    sent = [m for m in server.outbox("sms") if m["to"].endswith(to[-11:])]
    assert len(sent) == 1 and "：技术改造补助开始申报" in sent[0]["text"], sent


def test_a_clerk_who_never_saw_the_readme(browser, server: Server, tmp_path: Path):
    page = _sign_in(browser, server, "大碶街道 李科员", "staff")
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    _import_register(page, server, tmp_path)
    policy_id = _compose_and_publish(page, server)
    _correct_and_notify(page, server, policy_id)
    campaign_id = _create_weekly_campaign(page, server)
    _test_send_campaign(page, server, campaign_id, to="+8613800138000")
    assert blocked == []


# --- B. the admin --------------------------------------------------------------------------


def _provider_row(page, name: str):
    return page.locator("#providers tr", has=page.locator(f"code:text-is('{name}')"))


def _sms_in_use(page) -> str:
    return page.inner_text("#providers-in-use code[data-channel=sms]")


def test_an_admin_sets_up_tencent_sms(browser, server: Server, peer: TencentSmsPeer):
    page = _sign_in(browser, server, "北仑区 王管理员", "admin")
    page.goto(f"{server.url}/console/admin/providers")
    assert _sms_in_use(page) != "tx"
    page.fill("#p-name", "tx")
    page.select_option("#p-channel", label="短信")
    page.fill("#p-kind", "tencent-sms")
    page.fill(
        "#p-options",
        f"secret_id={SECRET_ID}\nsms_sdk_app_id=1400000001\nendpoint={peer.url}\n"
        "max_param_length=0",
    )
    page.fill("#p-secrets", f"secret_key={SECRET_KEY}")
    page.fill("#p-sign-name", "北仑企服")
    kinds = page.locator("#sms-templates fieldset.sms-template")
    legends = kinds.locator("legend").all_inner_texts()
    # The reach ladder's re-send may have a template of its own, or use the publication's.
    resent = "重发（未填写时使用“发布”的模板）"
    assert legends == ["发布", "提醒", "更正", "推送活动", resent], legends
    for kind, template in TENCENT_TEMPLATES.items():
        page.fill(f"#p-{kind}-code", template["template_code"])
        page.fill(f"#p-{kind}-text", template["text"])
        page.fill(f"#p-{kind}-params", "\n".join(f"{n}={e}" for n, e in template["params"].items()))
    page.click("#provider-form button[value=add]")
    assert "服务商已添加" in page.inner_text("#provider-note")

    row = _provider_row(page, "tx")
    row.locator("input[name=to]").fill("+8613800138000")
    row.locator("select[name=kind]").select_option(label="提醒")
    row.locator("button:text-is('发送测试')").click()
    assert "测试消息已被接受" in page.inner_text("#provider-tested")
    assert page.inner_text("#provider-answer") == "serial-1"
    [sent] = peer.sent
    assert sent["TemplateId"] == "2100002" and sent["SignName"] == "北仑企服"

    def in_use() -> bool:
        page.goto(f"{server.url}/console/admin/providers")
        return "正在使用" in _provider_row(page, "tx").inner_text()

    wait_until(in_use, timeout=REFRESH_SECONDS * 5, what="tx in use", every=0.5)
    assert _sms_in_use(page) == "tx"

    _provider_row(page, "tx").locator("button:text-is('停用')").click()
    assert "已停用" in page.inner_text("#provider-note")
    assert "正在使用" not in _provider_row(page, "tx").inner_text()
    assert _sms_in_use(page) != "tx"
    assert re.search(r"SMS|短信", page.inner_text("#providers-in-use"))
