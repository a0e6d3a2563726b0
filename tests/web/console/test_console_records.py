"""The console's records: a deadline's firms that have not done it (paged, exported, marked
done by staff), an enterprise edited on its page, and every list paged with nothing lost."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from notifier.jobs.worker import start_worker
from notifier.store.models import AuditEntry, Deadline
from notifier.web import i18n
from notifier.web.console import admin as admin_pages
from notifier.web.console import deadlines as deadline_pages
from notifier.web.console import enterprises as enterprise_pages

from support.factories import Firm, credit_code, enter_plain_years
from support.web_harness import (
    COMPOSED,
    TEMPLATES_CJK,
    console_runtime,
    make_key,
    run_queued,
    seed,
    signed_in,
    web_app,
)

CODE_LINK = re.compile(r'href="/console/enterprises/([0-9A-Z]{18})"')


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)


@pytest.fixture
def client(runtime) -> TestClient:
    client = TestClient(web_app(runtime))
    client.cookies.set(i18n.COOKIE, i18n.ZH)
    return client


def _published(runtime, client: TestClient, csrf: str) -> int:
    """COMPOSED published and sent (it reaches firms 1 and 2, the C36 ones); its deadline."""
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        answer = client.post("/console/policies", data={**COMPOSED, "csrf": csrf})
        assert answer.status_code in (200, 303), answer.text[-1000:]
        run_queued(runtime, worker)
    finally:
        worker.stop()
    with runtime.sessions() as session:
        deadline_id = session.scalar(select(Deadline.id))
    assert deadline_id is not None
    return deadline_id


def _firms_listed(page: str) -> list[str]:
    table = page.split('id="not-done"', 1)[1].split("</table>", 1)[0]
    return CODE_LINK.findall(table)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_a_deadline_lists_the_firms_not_done_and_staff_mark_one_done(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    deadline_id = _published(runtime, client, csrf)
    calendar = client.get("/console/deadlines", params={"month": "2031-06"}).text
    assert f'href="/console/deadlines/{deadline_id}"' in calendar
    policy_page = client.get("/console/policies/1").text
    assert f'href="/console/deadlines/{deadline_id}"' in policy_page

    page = client.get(f"/console/deadlines/{deadline_id}")
    assert page.status_code == 200
    assert _firms_listed(page.text) == [credit_code(1), credit_code(2)]
    text = _text(page.text)
    assert "应办理 2 家，已办理 0 家，未办理 2 家" in text
    assert "2031年6月30日 17:00" in text and COMPOSED["title"] in text
    assert "工作日历缺少相应年份" in text  # 2027 to 2030 not entered: not guessed
    enter_plain_years(runtime, 2026, 2027, 2028, 2029, 2030)
    assert re.search(r"\d+ 个工作日", _text(client.get(f"/console/deadlines/{deadline_id}").text))
    assert "1380000" in text and "firm1@example.cn" in text  # the contacts to call
    assert "已发送" in text  # the last message's status, in words

    done = client.post(
        f"/console/deadlines/{deadline_id}/done",
        data={"csrf": csrf, "credit_code": credit_code(1), "page": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert _firms_listed(after.text) == [credit_code(2)]
    assert "应办理 2 家，已办理 1 家，未办理 1 家" in _text(after.text)
    assert "已代企业标记为已办理" in _text(after.text)
    with runtime.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "deadline.done")
        ).one()
    assert entry.face == "console" and entry.after["credit_code"] == credit_code(1)

    refused = client.post(
        f"/console/deadlines/{deadline_id}/done", data={"credit_code": credit_code(2)}
    )
    assert refused.status_code == 403  # no CSRF value: nothing marked
    assert _firms_listed(client.get(f"/console/deadlines/{deadline_id}").text) == [
        credit_code(2)
    ]
    assert client.get("/console/deadlines/999").status_code == 404


def test_the_not_done_export_has_chinese_headers_and_real_dates(runtime, client):
    deadline_id = _published(runtime, client, signed_in(client, make_key(runtime, "staff")))
    enter_plain_years(runtime, 2026, 2027, 2028, 2029, 2030)
    answer = client.get(f"/console/deadlines/{deadline_id}/not-done.xlsx")
    assert answer.status_code == 200
    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    headers = rows[0]
    assert all(TEMPLATES_CJK.search(str(h)) for h in headers), headers
    body = [dict(zip(headers, row, strict=True)) for row in rows[1:]]
    assert [row["统一社会信用代码"] for row in body] == [credit_code(1), credit_code(2)]
    assert body[0]["截止时间"] == datetime(2031, 6, 30, 17, 0)  # a date cell, local time
    assert isinstance(body[0]["最近发送时间"], datetime)
    assert isinstance(body[0]["剩余工作日"], int)
    assert body[0]["最近发送状态"] == "已发送"


def test_the_not_done_list_pages_without_losing_a_firm(runtime, client, monkeypatch):
    deadline_id = _published(runtime, client, signed_in(client, make_key(runtime, "staff")))
    monkeypatch.setattr(deadline_pages, "PAGE", 1)
    first = client.get(f"/console/deadlines/{deadline_id}").text
    second = client.get(f"/console/deadlines/{deadline_id}?page=2").text
    assert "下一页" in first and "上一页" not in first
    assert "上一页" in second and "下一页" not in second
    assert _firms_listed(first) + _firms_listed(second) == [credit_code(1), credit_code(2)]


def test_editing_an_enterprise_changes_its_page_and_a_bad_phone_is_refused(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    path = f"/console/enterprises/{credit_code(1)}"
    page = client.get(path).text
    assert 'value="测试企业1有限公司"' in page and 'value="13800000001"' not in page
    form = {
        "csrf": csrf,
        "name": "宁波北仑新名称有限公司",
        "region": "浙江省/宁波市/北仑区/大碶街道",
        "size": "medium",
        "sectors": "C3670、C3611",
        "tags": "专精特新",
        "topics": "补贴",
        "phone": "13900001111",
        "email": "new@example.cn",
        "webhook_url": "",
        "channels": ["sms", "email"],
    }
    saved = client.post(f"{path}/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[-2000:]
    shown = _text(client.get(saved.headers["location"]).text)
    assert "宁波北仑新名称有限公司" in shown and "C3611" in shown and "专精特新" in shown
    assert "中型" in shown and "已保存企业信息" in shown
    with runtime.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "enterprise.update")
        ).one()
    assert entry.after["name"] == "宁波北仑新名称有限公司" and entry.face == "console"

    bad = client.post(f"{path}/edit", data={**form, "name": "又一个名称", "phone": "12345"})
    assert bad.status_code == 400
    error = _text(bad.text.split('id="enterprise-error">', 1)[1].split("</div>", 1)[0])
    assert error.strip().startswith("联系电话："), error
    assert 'value="又一个名称"' in bad.text and 'value="12345"' in bad.text  # kept
    assert 'value="new@example.cn"' in bad.text
    assert "又一个名称" not in _text(client.get(path).text.split("<form", 1)[0])  # not stored


def test_lists_page_with_nothing_lost(runtime, client, monkeypatch):
    seed(runtime, [Firm(n) for n in range(4, 60)])  # 59 firms in all, more than a page
    csrf = signed_in(client, make_key(runtime, "admin"))
    first = client.get("/console/enterprises").text
    second = client.get("/console/enterprises?page=2").text
    codes = CODE_LINK.findall(first) + CODE_LINK.findall(second)
    assert len(CODE_LINK.findall(first)) == enterprise_pages.PAGE
    assert sorted(codes) == sorted(credit_code(n) for n in range(1, 60))
    assert "共 59 条" in _text(first) and "下一页" in first and "上一页" in second
    assert "下一页" not in second
    assert client.get("/console/enterprises?page=999").text.count("/console/enterprises/9") == 9
    assert client.get("/console/enterprises?page=x").status_code == 200  # page 1

    for number in range(4):  # audited key.create
        made = client.post(
            "/console/admin/keys", data={"csrf": csrf, "role": "staff", "name": f"钥匙{number}"}
        )
        assert made.status_code == 200
    monkeypatch.setattr(admin_pages, "AUDIT_PAGE", 2)
    with runtime.sessions() as session:
        total = len(session.scalars(select(AuditEntry.id)).all())
    assert total >= 5
    seen = []
    for number in range(1, (total + 1) // 2 + 1):
        page = client.get(f"/console/admin?page={number}").text
        table = page.split('id="audit"', 1)[1].split("</table>", 1)[0]
        seen += re.findall(r"<tr><td>", table)
    assert len(seen) == total


def test_the_deadline_calendar_shows_one_month_with_links_to_the_next_and_the_previous(
    runtime, client
):
    csrf = signed_in(client, make_key(runtime, "staff"))
    deadline_id = _published(runtime, client, csrf)  # due 2031-06-30 17:00
    june = client.get("/console/deadlines", params={"month": "2031-06"}).text
    assert f'href="/console/deadlines/{deadline_id}"' in june
    assert 'id="month-shown">2031年6月<' in june
    assert 'href="/console/deadlines?month=2031-07"' in june
    assert 'href="/console/deadlines?month=2031-05"' in june
    july = client.get("/console/deadlines", params={"month": "2031-07"}).text
    assert f'href="/console/deadlines/{deadline_id}"' not in july and "这个月没有到期" in july
    # A month that cannot be read is this month, never an error page.
    for strange in ("2031-13", "abc", "99999-01", "2031-6-1"):
        answer = client.get("/console/deadlines", params={"month": strange})
        assert answer.status_code == 200 and 'id="month-shown"' in answer.text


def test_a_firms_page_shows_its_latest_messages_and_links_to_all_of_them(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        # Each reaches firm 1 on each of its three channels: 30 messages (10 SMS: the default
        # daily cap of notices a number gets).
        for n in range(10):
            title = f"{COMPOSED['title']}（第{n + 1}批）"
            sent = {**COMPOSED, "title": title, "csrf": csrf}
            del sent["deadline_title"], sent["deadline_due"]
            assert client.post("/console/policies", data=sent).status_code == 200
        run_queued(runtime, worker)
    finally:
        worker.stop()
    page = client.get(f"/console/enterprises/{credit_code(1)}").text
    history = page.split('id="history"', 1)[1].split("</table>", 1)[0]
    assert history.count("/console/deliveries/") == 20 and "（第10批）" in history
    link = re.search(r'id="history-all"><a href="([^"]+)">([^<]+)<', page)
    assert link and "共 30 条" in link[2]
    log = client.get(html.unescape(link[1])).text
    assert "共 30 条" in _text(log)
