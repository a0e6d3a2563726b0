"""The firm's page of a policy (``/p/{token}``): the policy as the firm needs it, in Chinese
first; its buttons as plain form posts (no JavaScript needed), each stored once; a GET records
nothing and only the page's own beacon counts as opened; a bad token gets the friendly page."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from notifier.cli.policies import embedded_worker
from notifier.domain.time_source import ManualTime
from notifier.domain.tokens import make_page_token, make_unsubscribe_token
from notifier.inputs.policy_file import parse_policy
from notifier.services.deadlines.operations import report
from notifier.services.delivery.progress import follow
from notifier.services.policies.publishing import publish, publish_policy
from notifier.store import enterprises as enterprise_store
from notifier.store import reach as reach_store
from notifier.store.models import AuditEntry

from support.factories import Enqueued, Firm, acting, credit_code, enter_plain_years, policy
from support.web_harness import seed, web_app

KEY = "the-current-secret-key-that-signs-links"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday: the 2031 deadline (next Monday) is five working days away.
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)
GUIDE = {
    "eligibility": "在北仑区注册的规上汽车零部件企业\n上年度技改投入超过500万元",
    "materials": "申报表、设备发票复印件",
    "office_address": "北仑区行政服务中心3楼经信窗口",
    "apply_url": "https://zwfw.example.gov.cn/apply/1",
    "enquiry_phone": "0574-86781234",
}


@pytest.fixture
def runtime(make_runtime, database_url):
    built = make_runtime(
        database_url=database_url, secret_key=KEY, time_source=ManualTime(MONDAY)
    )
    seed(built, [Firm(1), Firm(2)])
    enter_plain_years(built, 2031)  # 2032 stays unknown: the page says so
    draft = parse_policy(
        policy(
            deadlines=[
                {"title": "申报截止", "due_at": "2031-03-10"},
                {"title": "材料补交", "due_at": "2032-01-15", "remind": ["3d"]},
            ],
            **GUIDE,
        ),
        zone=built.settings.zone,
    )
    publish(built.sessions, Enqueued(), draft, time_source=built.time_source)
    return built


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


def _ids(runtime, number: int = 1) -> tuple[int, int]:
    with runtime.sessions() as session:
        enterprise = enterprise_store.get_by_credit_code(session, credit_code(number))
        assert enterprise is not None
    return report(acting(runtime))[0]["policy_id"], enterprise.id


def _token(runtime, number: int = 1) -> str:
    policy_id, enterprise_id = _ids(runtime, number)
    return make_page_token(KEY, policy_id=policy_id, enterprise_id=enterprise_id)


def _events(runtime, number: int = 1) -> list[tuple[str, dict]]:
    policy_id, enterprise_id = _ids(runtime, number)
    with runtime.sessions() as session:
        rows = reach_store.of_firm(session, policy_id=policy_id, enterprise_id=enterprise_id)
        return [(row.kind, dict(row.detail)) for row in rows]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has a CSRF field"
    return match.group(1)


def test_the_page_shows_the_guide_the_deadlines_and_why_in_chinese(runtime, client):
    token = _token(runtime)
    assert len(token) < 30  # short: an SMS will carry it
    page = client.get(f"/p/{token}")
    assert page.status_code == 200
    text = page.text
    assert "汽车零部件技术改造补助申报通知" in text and "北仑区经济和信息化局" in text
    assert "按设备投资额的10%给予补助。" in text
    assert "申报条件" in text and "上年度技改投入超过500万元" in text
    assert "所需材料" in text and "设备发票复印件" in text
    assert "受理地址：北仑区行政服务中心3楼经信窗口" in text
    assert 'href="https://zwfw.example.gov.cn/apply/1"' in text
    assert 'href="tel:057486781234"' in text and "0574-86781234" in text
    assert 'href="https://www.bl.gov.cn/policy/1"' in text
    assert "申报截止" in text and "还有 5 个工作日" in text
    assert "2032 年的工作日历尚未公布" in text  # never guessed
    assert "汽车零部件及配件制造" in text  # the sector's GB/T 4754 name
    assert "企业规模为小型" in text
    assert 'name="viewport"' in text and "/static/firm_page.js" in text
    english = client.get(f"/p/{token}", headers={"Accept-Language": "en"})
    assert "5 working days left" in english.text and "Who qualifies" in english.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "x" * 5000,
        make_page_token("someone-elses-key", policy_id=1, enterprise_id=1),
        make_unsubscribe_token(KEY, enterprise_id=1, channel="sms"),
    ],
    ids=["garbage", "too-long", "foreign-key", "unsubscribe-token"],
)
def test_a_bad_or_foreign_token_gets_the_friendly_page_never_a_500(client, token):
    for answer in (
        client.get(f"/p/{token}"),
        client.post(f"/p/{token}", data={"action": "confirmed"}),
    ):
        assert answer.status_code == 400
        assert "链接无效" in answer.text


def test_a_tampered_token_gets_the_friendly_page(runtime, client):
    token = _token(runtime)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    answer = client.get(f"/p/{tampered}")
    assert answer.status_code == 400 and "链接无效" in answer.text
    # Another firm's id with this firm's signature.
    policy_id, enterprise_id = _ids(runtime)
    payload, signature = token.rsplit(".", 1)
    forged = f"{payload.split('-')[0]}-{enterprise_id + 1:x}.{signature}"
    assert client.get(f"/p/{forged}").status_code == 400


def test_a_get_records_nothing_and_the_beacon_records_opened_once(runtime, client):
    token = _token(runtime)
    page = client.get(f"/p/{token}")
    client.get(f"/p/{token}", headers={"User-Agent": "WhatsApp/2.0 link preview"})
    assert _events(runtime) == []
    assert client.post(f"/p/{token}/opened").status_code == 400  # no page value: no view
    csrf = _csrf(page.text)
    assert client.post(f"/p/{token}/opened", data={"csrf": csrf}).status_code == 204
    assert client.post(f"/p/{token}/opened", data={"csrf": csrf}).status_code == 204
    assert _events(runtime) == [("opened", {})]
    assert _events(runtime, 2) == []


def test_pressing_confirm_twice_stores_one_confirmed_audited_as_the_firm(runtime, client):
    token = _token(runtime)
    csrf = _csrf(client.get(f"/p/{token}").text)
    first = client.post(f"/p/{token}", data={"csrf": csrf, "action": "confirmed"})
    assert first.status_code == 200 and "已记录：您已知晓" in first.text
    assert "您已确认知晓" in first.text and 'id="confirm"' not in first.text
    client.post(f"/p/{token}", data={"csrf": csrf, "action": "confirmed"})
    assert [kind for kind, _ in _events(runtime)] == ["opened", "confirmed"]
    _, enterprise_id = _ids(runtime)
    with runtime.sessions() as session:
        audited = [
            (e.actor_prefix, e.face)
            for e in session.query(AuditEntry).filter_by(action="reach.confirmed")
        ]
    assert audited == [(f"enterprise:{enterprise_id}", "page")]


def test_a_post_without_the_pages_csrf_value_stores_nothing(runtime, client):
    token = _token(runtime)
    answer = client.post(f"/p/{token}", data={"action": "confirmed"})
    assert answer.status_code == 400 and "页面已过期" in answer.text
    assert _events(runtime) == []


def test_done_uses_the_deadline_done_service_and_is_stored_once(runtime, client):
    token = _token(runtime)
    page = client.get(f"/p/{token}").text
    deadline_id = int(re.search(r'name="deadline" value="(\d+)"', page).group(1))
    csrf = _csrf(page)
    for _ in range(2):
        done = client.post(
            f"/p/{token}", data={"csrf": csrf, "action": "done", "deadline": str(deadline_id)}
        )
        assert done.status_code == 200 and "已记录办理" in done.text
    assert f'id="done-{deadline_id}"' not in done.text
    rows = {row["id"]: row for row in report(acting(runtime))}
    assert rows[deadline_id]["done"] == 1
    assert [kind for kind, _ in _events(runtime)] == ["opened", "done"]
    other = client.post(f"/p/{token}", data={"csrf": csrf, "action": "done", "deadline": "999"})
    assert other.status_code == 400 and "办理期限" in other.text


def test_not_applicable_and_a_question_are_stored_with_what_the_firm_wrote(runtime, client):
    token = _token(runtime)
    csrf = _csrf(client.get(f"/p/{token}").text)
    client.post(
        f"/p/{token}", data={"csrf": csrf, "action": "not_applicable", "reason": "已停产"}
    )
    asked = {"csrf": csrf, "action": "question", "question": "设备是二手的可以申报吗？",
             "callback": "13800001234"}  # fmt: skip
    answer = client.post(f"/p/{token}", data=asked)
    client.post(f"/p/{token}", data=asked)  # a double press
    assert "疑问已提交" in answer.text and "设备是二手的可以申报吗？" in answer.text
    assert _events(runtime) == [
        ("opened", {}),
        ("not_applicable", {"reason": "已停产"}),
        ("question", {"question": "设备是二手的可以申报吗？", "callback": "13800001234"}),
    ]


def test_a_bad_callback_number_is_refused_naming_it_and_the_question_is_kept(runtime, client):
    token = _token(runtime)
    csrf = _csrf(client.get(f"/p/{token}").text)
    answer = client.post(
        f"/p/{token}",
        data={"csrf": csrf, "action": "question", "question": "能否延期？", "callback": "12"},
    )
    assert answer.status_code == 400
    assert "回电号码：" in answer.text and "能否延期？" in answer.text
    empty = client.post(f"/p/{token}", data={"csrf": csrf, "action": "question"})
    assert empty.status_code == 400 and "问题：" in empty.text
    assert _events(runtime) == []


def test_the_email_and_webhook_a_firm_gets_link_its_own_page(runtime, client):
    draft = parse_policy(
        policy(ref="mailed", title="数字化改造奖励", **GUIDE), zone=runtime.settings.zone
    )
    with embedded_worker(runtime):
        published = publish_policy(acting(runtime), draft)
        follow(runtime.sessions, published.trigger_id, show=False, timeout=60)
    mails = [
        json.loads(path.read_text())
        for path in (runtime.settings.outbox_dir / "email").glob("*.json")
    ]
    mail = next(m for m in mails if m["to"] == "firm1@example.cn")
    url = re.search(r"https?://\S+/p/(\S+)", mail["text"])
    assert url, mail["text"]
    assert f'/p/{url.group(1)}"' in mail["html"]
    hooks = [
        json.loads(path.read_text())
        for path in (runtime.settings.outbox_dir / "webhook").glob("*.json")
    ]
    hook = next(h for h in hooks if h["to"].endswith("/1"))
    assert hook["payload"]["page_url"].endswith(f"/p/{url.group(1)}")
    page = client.get(f"/p/{url.group(1)}")
    assert page.status_code == 200
    assert "数字化改造奖励" in page.text and "测试企业1有限公司" in page.text
    # Reached by the policy's own sector target: the delivery's reason is the page's why.
    assert "所属行业 C3670" in page.text
