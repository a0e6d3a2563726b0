"""The console's follow-up page (回访): a community's firms to call, in Chinese, each with its
contacts and attempts; a call logged there moves the firm out, a bad outcome is refused naming
it, and a wrong phone number is corrected through the enterprise edit service (audited)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from notifier.domain.time_source import ManualTime
from notifier.store import enterprises as enterprise_store
from notifier.store.models import AuditEntry

from support.factories import credit_code
from support.reach import MONDAY, THURSDAY, firm_id, seed_district
from support.web_harness import make_key, signed_in, web_app

KEY = "console-followups-secret-key-0123456789"
COMMUNITY = "/console/followups?community=%E7%81%B5%E5%B3%B0%E5%B7%A5%E4%B8%9A%E7%A4%BE%E5%8C%BA"


@pytest.fixture
def district(make_runtime, database_url):
    clock = ManualTime(MONDAY)
    runtime = make_runtime(database_url=database_url, secret_key=KEY, time_source=clock)
    near, far = seed_district(runtime)
    clock.set(THURSDAY)
    return runtime, near, far


@pytest.fixture
def client(district):
    runtime, _, _ = district
    client = TestClient(web_app(runtime))
    client.headers["x-test-csrf"] = signed_in(client, make_key(runtime, "staff"))
    return client


def _items(html: str) -> list[str]:
    return re.findall(r'id="item-(\d+-\d+)"', html)


def test_the_page_lists_the_communitys_firms_in_chinese_with_what_was_tried(district, client):
    runtime, near, far = district
    page = client.get(COMMUNITY)
    assert page.status_code == 200
    text = page.text
    assert "回访名单" in text and ">回访<" in text
    assert "共 8 家次待回访" in text
    assert "无法送达" in text and "未查看" in text and "有疑问" in text
    assert "二手设备可以申报吗？" in text and "13800001234" in text
    assert 'href="tel:+8613800000001"' in text
    assert "短信 发送至 +8613800000001" in text or "发送至 +8613800000001" in text
    assert "测试企业5有限公司" not in text  # another community
    one = firm_id(runtime, 1)
    assert _items(text)[0] == f"{near}-{one}" and _items(text)[-1] == f"{far}-{firm_id(runtime, 6)}"
    # The picker offers the register's communities; a street covers its communities.
    assert '<option value="浙江省/宁波市/北仑区/大碶街道/新碶工业社区"' in text
    street = client.get("/console/followups", params={"community": "大碶街道"})
    assert "测试企业5有限公司" in street.text and "测试企业7有限公司" not in street.text
    assert len(_items(client.get(f"/console/followups?policy={far}").text)) == 6  # everywhere
    assert len(_items(client.get(f"{COMMUNITY}&policy={far}").text)) == 4


def test_a_logged_call_moves_the_firm_out_and_is_audited_as_the_clerk(district, client):
    runtime, near, _ = district
    one = firm_id(runtime, 1)
    answer = client.post(
        "/console/followups/call",
        data={"csrf": client.headers["x-test-csrf"], "policy_id": near, "enterprise_id": one,
              "outcome": "informed", "note": "已告知申报材料", "community": "灵峰工业社区",
              "page": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    after = client.get(answer.headers["location"])
    assert "已记录回访电话" in after.text and f"item-{near}-{one}" not in after.text
    assert "共 7 家次待回访" in after.text
    kept = client.post(
        "/console/followups/call",
        data={"csrf": client.headers["x-test-csrf"], "policy_id": near,
              "enterprise_id": firm_id(runtime, 6), "outcome": "无人接听"},
    )  # fmt: skip
    assert kept.status_code == 200 and f"item-{near}-{firm_id(runtime, 6)}" in kept.text
    assert "电话：无人接听" in kept.text
    with runtime.sessions() as session:
        entries = session.query(AuditEntry).filter_by(action="reach.call").all()
    assert [(e.face, e.after["outcome"]) for e in entries] == [
        ("console", "informed"),
        ("console", "no_answer"),
    ]


def test_a_bad_outcome_or_a_post_without_csrf_is_refused(district, client):
    runtime, near, _ = district
    form = {"policy_id": near, "enterprise_id": firm_id(runtime, 1), "outcome": "打过了"}
    refused = client.post(
        "/console/followups/call", data={**form, "csrf": client.headers["x-test-csrf"]}
    )
    assert refused.status_code == 400
    assert "outcome: 不认识“打过了”" in refused.text and "unknown call outcome" in refused.text
    assert client.post("/console/followups/call", data=form).status_code == 403
    bad = client.get("/console/followups", params={"community": "没有这个社区"})
    assert bad.status_code == 400 and "community: " in bad.text
    with runtime.sessions() as session:
        assert session.query(AuditEntry).filter_by(action="reach.call").count() == 0


def test_a_wrong_number_is_corrected_through_the_enterprise_service(district, client):
    runtime, _, _ = district
    csrf = client.headers["x-test-csrf"]
    code = credit_code(2)
    refused = client.post(
        "/console/followups/phone", data={"csrf": csrf, "credit_code": code, "phone": "12"}
    )
    assert refused.status_code == 400 and "联系电话" in refused.text
    saved = client.post(
        "/console/followups/phone",
        data={"csrf": csrf, "credit_code": code, "phone": "13900000099"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "已更正电话号码" in client.get(saved.headers["location"]).text
    with runtime.sessions() as session:
        firm = enterprise_store.get_full(session, code)
        assert firm is not None
        assert {c.channel: c.address for c in firm.contacts}["sms"] == "+8613900000099"
        assert firm.name == "测试企业2有限公司" and firm.region.endswith("灵峰工业社区")
        entry = session.query(AuditEntry).filter_by(action="enterprise.update").one()
    assert entry.face == "console" and entry.target_id == code
