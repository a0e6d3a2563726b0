"""A policy's reach in the console: the funnel and the side states on its page matching the
report, a row per community, the dashboard's district row, and the per-firm XLSX export with
Chinese headers; strangers and enterprise keys get none of it."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from notifier.cli.policies import embedded_worker
from notifier.domain.time_source import ManualTime
from notifier.domain.tokens import make_page_token
from notifier.inputs.policy_file import parse_policy
from notifier.services.access.api_keys import create_key
from notifier.services.delivery.progress import follow
from notifier.services.policies.publishing import publish, publish_policy
from notifier.services.reach.report import policy_reach
from notifier.store import enterprises as enterprise_store
from notifier.store import policies as policy_store

from support.cli import notifier_on
from support.factories import Enqueued, Firm, acting, credit_code, enter_plain_years, policy
from support.web_harness import make_key, post_login, seed, signed_in, web_app

KEY = "the-current-secret-key-that-signs-links"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)
LINGFENG = "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区"
XINQIE = "浙江省/宁波市/北仑区/新碶街道/新契社区"


@pytest.fixture
def runtime(make_runtime, database_url):
    built = make_runtime(database_url=database_url, secret_key=KEY, time_source=ManualTime(MONDAY))
    firms = [Firm(n, region=LINGFENG) for n in (1, 2, 3, 4)]
    seed(built, firms + [Firm(n, region=XINQIE) for n in (5, 6)])
    enter_plain_years(built, 2031)
    draft = parse_policy(
        policy(ref="reach", deadlines=[{"title": "申报截止", "due_at": "2031-03-10"}]),
        zone=built.settings.zone,
    )
    with embedded_worker(built):
        published = publish_policy(acting(built), draft)
        follow(built.sessions, published.trigger_id, show=False, timeout=60)
    return built


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


def _policy_id(runtime) -> int:
    with runtime.sessions() as session:
        return policy_store.list_recent(session)[0].id


def _press(runtime, client: TestClient, policy_id: int, number: int, *actions: dict) -> None:
    """The firm opens its page (the beacon runs) and presses ``actions``."""
    with runtime.sessions() as session:
        firm = enterprise_store.get_by_credit_code(session, credit_code(number))
        assert firm is not None
    token = make_page_token(KEY, policy_id=policy_id, enterprise_id=firm.id)
    page = client.get(f"/p/{token}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post(f"/p/{token}/opened", data={"csrf": csrf}).status_code == 204
    for action in actions:
        assert client.post(f"/p/{token}", data={"csrf": csrf, **action}).status_code == 200


@pytest.fixture
def acted(runtime, client) -> int:
    """Firms 1-3 opened the page, 1 and 2 confirmed; 5 said not applicable, 6 asked."""
    policy_id = _policy_id(runtime)
    confirm = {"action": "confirmed"}
    for number, actions in ((1, [confirm]), (2, [confirm]), (3, [])):
        _press(runtime, client, policy_id, number, *actions)
    _press(runtime, client, policy_id, 5, {"action": "not_applicable", "reason": "已停产"})
    asked = {"action": "question", "question": "能否延期？", "callback": "13800001234"}
    _press(runtime, client, policy_id, 6, asked)
    return policy_id


def _cell(html: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert row, row_id
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row.group(1), re.S)
    ]


def test_the_policy_page_shows_the_funnel_and_the_communities_as_the_report_counts(
    runtime, client, acted
):
    signed_in(client, make_key(runtime, "staff"))
    page = client.get(f"/console/policies/{acted}").text
    report = policy_reach(acting(runtime), acted)
    funnel = {step.step: step.firms for step in report.overall.funnel()}
    # Six firms sent to; the outbox gives no receipts, but a firm that opened its page got
    # the message: five; two confirmed; none done yet.
    assert funnel == {"targeted": 6, "sent": 6, "delivered": 5, "opened": 5, "confirmed": 2,
                      "done": 0}  # fmt: skip
    for step, firms in funnel.items():
        name, shown, share = _cell(page, f"funnel-{step}")
        assert int(shown) == firms and share == f"{100 * firms / 6:.1f}%"
    assert _cell(page, "funnel-opened")[0] == "已查看"
    assert 'id="reach-funnel-chart"' in page and "<svg" in page
    assert re.search(r'id="side-not_applicable">与我无关 1<', page)
    assert re.search(r'id="side-question">有疑问 1<', page)
    assert re.search(r'id="side-unreachable">无法送达 0<', page)
    # Both confirmed before the first deadline (a week away): 2 of 6.
    assert "33.3%" in re.search(r'id="reach-early">(.*?)</p>', page, re.S).group(1)
    # A row per community: its name, the whole path as its title, its total.
    assert f'<td title="{LINGFENG}">灵峰工业社区</td>' in page
    assert f'<td title="{XINQIE}">新契社区</td>' in page
    lingfeng = report.communities[LINGFENG]
    assert lingfeng.firms == 4 and lingfeng.states["confirmed"] == 2
    total = _cell(page, "reach-total")
    assert total[0] == "合计" and total[-1] == "6"
    assert f'href="/console/policies/{acted}/reach.xlsx"' in page


def test_the_dashboard_shows_the_policy_in_the_district_view(runtime, client, acted):
    # Published too long ago, or not yet: not followed.
    for ref, published_at in (("old", "2030-11-01T09:00"), ("later", "2031-04-01T09:00")):
        draft = parse_policy(
            policy(ref=ref, title=f"{ref}政策", published_at=published_at),
            zone=runtime.settings.zone,
        )
        publish(runtime.sessions, Enqueued(), draft, time_source=runtime.time_source)
    signed_in(client, make_key(runtime, "staff"))
    page = client.get("/console/").text
    row = _cell(page, f"district-{acted}")
    # title, published, firms, opened, confirmed, unreachable, questions open
    assert row[0] == "汽车零部件技术改造补助申报通知"
    assert row[2:] == ["6", "83.3%", "33.3%", "0", "1"]
    assert f'href="/console/policies/{acted}"' in page
    assert "old政策" not in page and "later政策" not in page


def test_the_export_lists_every_firm_with_its_state_under_chinese_headers(runtime, client, acted):
    signed_in(client, make_key(runtime, "staff"))
    answer = client.get(f"/console/policies/{acted}/reach.xlsx")
    assert answer.status_code == 200
    assert f"policy-{acted}-reach.xlsx" in answer.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert list(rows[0]) == ["企业名称", "统一社会信用代码", "所属社区", "所属区域", "触达状态",
                             "有未答疑问", "确认时间", "更新时间"]  # fmt: skip
    by_code = {row[1]: row for row in rows[1:]}
    assert len(by_code) == 6
    first = by_code[credit_code(1)]
    assert first[0] == "测试企业1有限公司" and first[2] == "灵峰工业社区" and first[3] == LINGFENG
    assert first[4] == "已知晓" and first[5] == "否"
    assert first[6] == MONDAY.replace(tzinfo=None)  # a date cell, in Shanghai's time
    assert by_code[credit_code(6)][4:6] == ("有疑问", "是")
    assert by_code[credit_code(5)][4] == "与我无关"
    assert by_code[credit_code(4)][4] == "已发送" and not by_code[credit_code(4)][6]
    assert client.get("/console/policies/999/reach.xlsx").status_code == 404


def test_strangers_and_enterprise_keys_get_no_reach(runtime, client, acted):
    for path in (f"/console/policies/{acted}/reach.xlsx", f"/console/policies/{acted}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    firm_key = create_key(
        runtime.sessions, role="enterprise", name="firm", credit_code=credit_code(1),
        secret=KEY, time_source=runtime.time_source,
    ).key  # fmt: skip
    assert post_login(client, firm_key).status_code == 401
    answer = client.get(f"/console/policies/{acted}/reach.xlsx", follow_redirects=False)
    assert answer.status_code == 303


def test_the_cli_reports_the_same_reach_and_writes_the_same_workbook(
    runtime, acted, database_url, tmp_path
):
    notifier = notifier_on(database_url, tmp_path)
    book = tmp_path / "reach.xlsx"
    report = notifier.json("policies", "reach", str(acted), "--format", "json", "--xlsx", str(book))
    assert report == policy_reach(acting(runtime), acted).as_json()
    assert [step["firms"] for step in report["funnel"]] == [6, 6, 5, 5, 2, 0]
    assert [c["name"] for c in report["communities"]] == ["灵峰工业社区", "新契社区"]
    rows = list(load_workbook(book).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("企业名称", "统一社会信用代码") and len(rows) == 7
