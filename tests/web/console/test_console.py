"""The staff console: sign-in with a key, CSRF on every form, composing with a live preview,
publishing, the delivery log, imports with Chinese headers, and every page in both languages."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from notifier.inputs.enterprise_csv import HEADER, HEADER_WORDS
from notifier.jobs.worker import start_worker
from notifier.store import apikeys
from notifier.store import enterprises as enterprise_store
from notifier.store import policies as policy_store
from notifier.store import templates as template_store
from notifier.store.models import Trigger
from notifier.store.triggers import policy_corrected_key
from notifier.web.console.session import COOKIE
from notifier.web.views import TEMPLATES_DIR

from support.console_import import console_import
from support.factories import Firm, credit_code
from support.forms import fields_of, published_id
from support.web_harness import (
    COMPOSED,
    SECRET,
    TEMPLATES_CJK,
    console_runtime,
    make_key,
    post_login,
    run_queued,
    signed_in,
    web_app,
)


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def staff_key(runtime) -> str:
    return make_key(runtime, "staff")


@pytest.fixture
def admin_key(runtime) -> str:
    return make_key(runtime, "admin")


def test_every_console_page_sends_a_stranger_to_the_sign_in_page(client):
    for path in ("/console/", "/console/policies", "/console/deliveries", "/console/admin"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


def test_a_wrong_key_is_refused_and_a_staff_key_gets_an_httponly_lax_session(client, staff_key):
    refused = post_login(client, "not-a-key")
    assert refused.status_code == 401 and "密钥无效" in refused.text
    answer = post_login(client, staff_key)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert staff_key not in cookie
    assert "工作人员" in client.get("/console/").text


def test_a_form_without_the_sessions_csrf_value_is_refused_and_stores_nothing(
    runtime, client, staff_key
):
    signed_in(client, staff_key)
    answer = client.post("/console/policies", data=COMPOSED)
    assert answer.status_code == 403
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []


def test_a_missing_record_or_a_bad_id_is_a_page_not_json(client, staff_key):
    signed_in(client, staff_key)
    for path in ("/console/policies/999", "/console/deliveries/abc", "/console/enterprises/x"):
        answer = client.get(path)
        assert answer.status_code == 404 and "找不到页面" in answer.text, path
    assert client.get("/console/no-such-page").status_code == 404
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["reason"]


def test_staff_cannot_open_admin_and_admin_sees_settings_with_secrets_masked(
    client, staff_key, admin_key
):
    signed_in(client, staff_key)
    forbidden = client.get("/console/admin")
    assert forbidden.status_code == 403 and "无权访问" in forbidden.text
    client.cookies.clear()
    signed_in(client, admin_key)
    page = client.get("/console/admin")
    assert page.status_code == 200 and "secret_key" in page.text
    assert SECRET not in page.text and "**********" in page.text


def test_a_revoked_key_ends_its_console_session(runtime, client, staff_key):
    signed_in(client, staff_key)
    with runtime.sessions.begin() as session:
        apikeys.revoke(session, staff_key[:14], now=runtime.time_source.now())
    answer = client.get("/console/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


def test_the_compose_preview_counts_the_audience_and_the_sms_parts(client, staff_key):
    csrf = signed_in(client, staff_key)
    preview = client.post("/console/policies/preview", data={**COMPOSED, "csrf": csrf}).json()
    assert preview["ok"] and preview["enterprises"] == 2
    assert preview["recipients"] == {"sms": 1, "email": 2, "webhook": 1}
    sms = preview["renderings"]["sms"]
    assert COMPOSED["title"] in sms["text"] and sms["sms_parts"] >= 1
    wrong = {**COMPOSED, "sectors": "Q99X", "csrf": csrf}
    bad = client.post("/console/policies/preview", data=wrong)
    assert bad.json()["ok"] is False and "sectors" in bad.json()["error"]


def test_a_policy_published_from_the_console_is_delivered_and_logged_with_why(
    runtime, client, staff_key
):
    csrf = signed_in(client, staff_key)
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        answer = client.post("/console/policies", data={**COMPOSED, "csrf": csrf})
        run_queued(runtime, worker)
    finally:
        worker.stop()
    assert answer.status_code == 200 and "已发布" in answer.text
    log = client.get("/console/deliveries", params={"channel": "email"}).text
    assert "测试企业1有限公司" in log and "测试企业2有限公司" in log
    assert "测试企业3有限公司" not in log
    assert "sector_prefix" in log or "C36" in log
    # A delivery's page shows the message the firm received, and the policy by its title.
    delivery_id = re.search(r"/console/deliveries/(\d+)", log)[1]
    one = client.get(f"/console/deliveries/{delivery_id}")
    text = html.unescape(re.search(r'id="message-text">([^<]*)<', one.text)[1])
    assert COMPOSED["summary"][:10] in text and f">{COMPOSED['title']}</a>" in one.text
    again = client.post("/console/policies", data={**COMPOSED, "csrf": csrf})
    assert "不会重复发送" in again.text
    export = client.get("/console/deliveries/export", params={"format": "xlsx", "channel": "email"})
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "政策编号", "政策标题", "发送原因") and len(rows) == 3
    names = {r[rows[0].index("企业名称")] for r in rows[1:]}
    assert names == {"测试企业1有限公司", "测试企业2有限公司"}
    client.cookies.clear()
    signed_in(client, make_key(runtime, "admin"))
    admin = client.get("/console/admin").text
    assert "发布政策" in admin and staff_key[:14] in admin
    csv_text = client.get("/console/deliveries/export", params={"format": "csv"}).text
    assert csv_text.startswith("\ufeff编号,政策编号,政策标题,") and csv_text.count("\r\n") == 1 + 4


def test_failed_sign_ins_are_limited_per_client_and_a_right_key_still_signs_in(
    make_runtime, tmp_path
):
    limited = console_runtime(make_runtime, tmp_path / "limited", web={"failed_auth_limit": 2})
    client = TestClient(web_app(limited))
    key = make_key(limited, "staff")
    for _ in range(2):
        assert post_login(client, "ntf_wrong").status_code == 401
    blocked = post_login(client, "ntf_wrong_again")
    assert blocked.status_code == 429 and "失败次数过多" in blocked.text
    # Failures are what is limited: the right key is not locked out with the guesser.
    assert post_login(client, key).status_code == 303
    assert "工作人员" in client.get("/console/").text


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([HEADER_WORDS[c][0] for c in HEADER])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_register_with_chinese_headers_imports_and_reports_bad_rows(
    runtime, client, staff_key
):
    csrf = signed_in(client, staff_key)
    good = Firm(7, name="宁波北仑新材料有限公司").row()
    bad = Firm(8).row()
    bad[0] = "913302060000000000"
    _, answer = console_import(client, csrf, "名册.xlsx", _xlsx([good, bad]))
    assert answer.status_code == 200
    assert "新增 1 家" in answer.text and "有误 1 行" in answer.text
    assert "第 3 行 统一社会信用代码：" in answer.text and "credit_code" in answer.text
    with runtime.sessions() as session:
        assert enterprise_store.get_by_credit_code(session, credit_code(7)) is not None


def test_an_unreadable_upload_is_one_clear_line(client, staff_key):
    csrf = signed_in(client, staff_key)
    answer = client.post(
        "/console/enterprises/import",
        data={"csrf": csrf},
        files={"file": ("x.xlsx", b"PK\x03\x04 broken", "application/octet-stream")},
    )
    assert answer.status_code == 400 and "XLSX" in answer.text


def test_templates_hold_no_chinese_of_their_own():
    """Every word a page shows comes from the catalogue, so English pages can be whole."""
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", template.read_text(), flags=re.S)
        assert not TEMPLATES_CJK.search(text), f"{template.name}: {TEMPLATES_CJK.findall(text)[:5]}"


def test_an_admin_makes_a_key_shown_once_and_revoking_it_ends_its_sessions(
    runtime, client, admin_key
):
    csrf = signed_in(client, admin_key)
    made = client.post(
        "/console/admin/keys", data={"role": "staff", "name": "园区服务中心", "csrf": csrf}
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    key = re.search(r'id="new-key">([^<]+)<', made.text)
    assert key is not None and "只显示这一次" in made.text
    new_key = key.group(1)
    admin_page = client.get("/console/admin").text
    assert new_key[:14] in admin_page and new_key not in admin_page
    assert "创建密钥" in admin_page
    # The new key signs in; revoking it from the console ends that session.
    other = TestClient(client.app)
    signed_in(other, new_key)
    assert other.get("/console/", follow_redirects=False).status_code == 200
    revoked = client.post(f"/console/admin/keys/{new_key[:14]}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 200 and "密钥已吊销" in revoked.text
    assert "吊销密钥" in revoked.text and new_key not in revoked.text
    answer = other.get("/console/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


def test_a_bad_key_form_names_the_field_and_stores_nothing(runtime, client, admin_key):
    csrf = signed_in(client, admin_key)
    with runtime.sessions() as session:
        before = len(apikeys.listed(session))
    for data, field in (
        ({"role": "boss", "name": "x"}, "role"),
        ({"role": "staff", "name": "  "}, "name"),
        ({"role": "enterprise", "name": "x"}, "enterprise"),
        ({"role": "enterprise", "name": "x", "enterprise": credit_code(7)}, "enterprise"),
    ):
        answer = client.post("/console/admin/keys", data={**data, "csrf": csrf})
        assert answer.status_code == 400, data
        error = re.search(r'id="key-error">([^<]+)<', answer.text)
        assert error is not None and error.group(1).startswith(f"{field}:"), data
        assert 'id="new-key"' not in answer.text
    missing = client.post("/console/admin/keys/ntf_0000000000/revoke", data={"csrf": csrf})
    assert missing.status_code == 404 and "没有该密钥" in missing.text
    with runtime.sessions() as session:
        assert len(apikeys.listed(session)) == before


def test_staff_cannot_make_or_revoke_keys(runtime, client, staff_key, admin_key):
    csrf = signed_in(client, staff_key)
    made = client.post("/console/admin/keys", data={"role": "admin", "name": "x", "csrf": csrf})
    assert made.status_code == 403 and "ntf_" not in made.text
    revoked = client.post(f"/console/admin/keys/{admin_key[:14]}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 403
    with runtime.sessions() as session:
        assert all(k.revoked_at is None for k in apikeys.listed(session))
        assert len(apikeys.listed(session)) == 2


def test_key_forms_without_the_csrf_value_are_refused(runtime, client, admin_key):
    signed_in(client, admin_key)
    made = client.post("/console/admin/keys", data={"role": "staff", "name": "x"})
    revoked = client.post(f"/console/admin/keys/{admin_key[:14]}/revoke")
    assert made.status_code == 403 and revoked.status_code == 403
    with runtime.sessions() as session:
        assert len(apikeys.listed(session)) == 1


TEMPLATE_FORM = {
    "name": "技改补助",
    "channel": "短信",
    "body": "{{ enterprise.name }}：请及时申报。",
}


def test_staff_save_template_versions_and_see_every_one(runtime, client, staff_key):
    csrf = signed_in(client, staff_key)
    first = client.post("/console/templates", data={**TEMPLATE_FORM, "csrf": csrf})
    assert first.status_code == 200 and "已保存为新版本" in first.text
    again = client.post("/console/templates", data={**TEMPLATE_FORM, "csrf": csrf})
    assert "内容未改变" in again.text
    changed = {**TEMPLATE_FORM, "body": "{{ enterprise.name }}：请尽快报名。", "csrf": csrf}
    page = client.post("/console/templates", data=changed).text
    assert 'id="sms-1"' in page and 'id="sms-2"' in page and "请尽快报名" in page
    listing = client.get("/console/templates").text
    assert "技改补助" in listing and "<td>2</td>" in listing
    with runtime.sessions() as session:
        assert [t.version for t in template_store.history(session, "技改补助")] == [1, 2]
    client.cookies.clear()
    signed_in(client, make_key(runtime, "admin"))
    assert client.get("/console/admin").text.count("保存消息模板") == 2


def test_a_refused_template_names_the_field_keeps_the_form_and_stores_nothing(
    runtime, client, staff_key
):
    csrf = signed_in(client, staff_key)
    for data, field in (
        ({**TEMPLATE_FORM, "body": "{{ enterprise.nmae }}"}, "enterprise.name"),
        ({**TEMPLATE_FORM, "channel": "fax"}, "channel"),
        ({**TEMPLATE_FORM, "channel": "email"}, "subject"),
        ({**TEMPLATE_FORM, "name": "a/b"}, "name"),
    ):
        answer = client.post("/console/templates", data={**data, "csrf": csrf})
        assert answer.status_code == 400, data
        error = re.search(r'id="template-error">([^<]+)<', answer.text)
        assert error is not None and field in html.unescape(error.group(1)), (data, error)
        assert html.escape(data["body"], quote=False) in answer.text
    with runtime.sessions() as session:
        assert template_store.listing(session) == []
    assert client.get("/console/templates/nothing-here").status_code == 404


def test_a_policy_page_offers_the_correction_form_and_shows_the_history(
    runtime, client, staff_key
):
    csrf = signed_in(client, staff_key)
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        published = client.post(
            "/console/policies", data={**COMPOSED, "ref": "BL-2026-07", "csrf": csrf}
        )
        run_queued(runtime, worker)
        policy_id = published_id(published)
        page = client.get(f"/console/policies/{policy_id}").text
        assert "没有更正过" in page and 'id="cancel-form"' not in page
        # No JSON where a clerk goes: the correction is the form.
        assert 'id="correct-link"' in page and "policy_json" not in page and "JSON" not in page
        sent = fields_of(client.get(f"/console/policies/{policy_id}/correct").text)
        sent["summary"] = ["按设备投资额的12%给予补助。"]
        shown = client.post(f"/console/policies/{policy_id}/correct", data=sent)
        confirmed = {**fields_of(shown.text), "notify": ["1"]}
        revised = client.post(f"/console/policies/{policy_id}/correct", data=confirmed)
        run_queued(runtime, worker)
    finally:
        worker.stop()
    assert revised.status_code == 200 and "正在向企业发送更正通知" in revised.text
    assert re.search(r"<td>1</td><td>[^<]+</td><td>摘要", revised.text)
    with runtime.sessions() as session:
        keys = [t.key for t in session.scalars(select(Trigger))]
    assert policy_corrected_key(policy_id, 1) in keys
    gone = client.post(f"/console/policies/{policy_id}/revise", data={"csrf": csrf})
    assert gone.status_code in (404, 405)
    withdraw = client.post(f"/console/policies/{policy_id}/cancel", data={"csrf": csrf})
    assert withdraw.status_code == 400 and "不能撤回" in withdraw.text


def test_a_scheduled_policy_is_withdrawn_from_its_page_and_audited(runtime, client, staff_key):
    csrf = signed_in(client, staff_key)
    later = {**COMPOSED, "published_at": "2031-01-01T09:00", "csrf": csrf}
    published = client.post("/console/policies", data=later)
    policy_id = int(re.search(r"/console/policies/(\d+)", str(published.url)).group(1))
    assert 'id="cancel-form"' in published.text
    withdrawn = client.post(f"/console/policies/{policy_id}/cancel", data={"csrf": csrf})
    assert "政策已撤回" in withdrawn.text and 'id="cancelled"' in withdrawn.text
    assert 'id="cancel-form"' not in withdrawn.text
    with runtime.sessions() as session:
        assert policy_store.get(session, policy_id).cancelled_at is not None
    client.cookies.clear()
    signed_in(client, make_key(runtime, "admin"))
    assert "撤回政策" in client.get("/console/admin").text
