"""In Chinese, a clerk reads no stored code: every console page, walked as staff and as an
admin with policies, deadlines, campaigns, deliveries in several statuses and audit rows
present, shows no English status, trigger kind, audit action, reminder rung or reason key; and
the XLSX export a clerk opens has Chinese headers, date cells and number cells."""

from __future__ import annotations

import html as html_text
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update

from notifier.domain.channel_names import CHANNELS
from notifier.jobs.worker import start_worker
from notifier.store.models import AuditEntry, Delivery, DeliveryStatus
from notifier.store.models.campaign import CampaignStatus
from notifier.store.models.trigger import Trigger, TriggerKind, TriggerStatus
from notifier.web import i18n

from support.factories import credit_code
from support.web_harness import (
    CAMPAIGN_FORM,
    COMPOSED,
    TEMPLATES_CJK,
    console_runtime,
    make_key,
    run_queued,
    signed_in,
    web_app,
)

PAGES = (
    "/console/",
    "/console/policies",
    "/console/policies/1",
    "/console/deadlines",
    "/console/deadlines?month=2031-06",
    "/console/deadlines/1",
    "/console/enterprises",
    "/console/enterprises/{code}",
    "/console/deliveries",
    "/console/deliveries/{delivery}",
    "/console/deliveries/{failed}",
    "/console/templates",
    "/console/campaigns",
    "/console/campaigns/new",
    "/console/campaigns/1",
)
ADMIN_PAGES = (
    "/console/admin",
    "/console/admin/providers",
    "/console/admin/users",
    "/console/calendar",
)
FORMULA = '=HYPERLINK("http://evil.example","x")'
# Reason keys the audience can give (notifier/store/audience.py).
REASON_KEYS = ("sector", "region", "size", "tags", "topics", "listed", "reached_before", "all")


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)


@pytest.fixture
def client(runtime) -> TestClient:
    client = TestClient(web_app(runtime))
    client.cookies.set(i18n.COOKIE, i18n.ZH)
    return client


def _populate(runtime, client: TestClient) -> dict[str, int]:
    """A policy with a deadline, a campaign, deliveries sent, failed, deferred, suppressed and
    cancelled; audit rows of each. The ids of a sent and a failed delivery."""
    csrf = signed_in(client, make_key(runtime, "admin"))
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        published = client.post("/console/policies", data={**COMPOSED, "csrf": csrf})
        assert published.status_code in (200, 303), published.text[-1000:]
        made = client.post("/console/campaigns/new", data={**CAMPAIGN_FORM, "csrf": csrf})
        assert made.status_code == 200, made.text[-1000:]
        run_queued(runtime, worker)
    finally:
        worker.stop()
    with runtime.sessions() as session, session.begin():
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        assert len(ids) >= 2, ids
        others = [s for s in DeliveryStatus if s != DeliveryStatus.SENT]
        for delivery_id, status in zip(ids[1:], others, strict=False):
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(status=status, last_error="550 邮箱不存在")
            )
    return {"delivery": ids[0], "failed": ids[1]}


def _forbidden(runtime) -> set[str]:
    """Every stored code a Chinese page must not show as it is: the enums' values, the audit
    actions and trigger keys present, the ladders' rungs, the reason keys, the channels."""
    tokens = {s.value for s in DeliveryStatus} | {k.value for k in TriggerKind}
    tokens |= {s.value for s in TriggerStatus} | {s.value for s in CampaignStatus}
    tokens |= set(REASON_KEYS) | set(runtime.settings.reminders.ladder) | set(CHANNELS)
    with runtime.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
        tokens |= actions | set(session.scalars(select(Trigger.key)))
    assert {"policy.publish", "campaign.create"} <= actions
    return tokens


def _visible(html: str) -> str:
    # The admin's settings table shows the configuration file's own names and values (what an
    # operator writes there), and a textarea holds a file as typed: both stay as they are.
    html = re.sub(r'<table id="settings">.*?</table>', " ", html, flags=re.S)
    html = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", html, flags=re.S)
    return html_text.unescape(re.sub(r"<[^>]+>", " ", html))


def _found(text: str, token: str) -> bool:
    return re.search(rf"(?<![\w./@-]){re.escape(token)}(?![\w.@-])", text) is not None


def test_no_console_page_shows_a_stored_code_in_chinese(runtime, client):
    ids = _populate(runtime, client)
    forbidden = _forbidden(runtime)
    pages = [p.format(code=credit_code(1), **ids) for p in PAGES]
    for role, paths in (("staff", pages), ("admin", pages + list(ADMIN_PAGES))):
        client.cookies.clear()
        client.cookies.set(i18n.COOKIE, i18n.ZH)
        signed_in(client, make_key(runtime, role))
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200, f"{role} {path}: {page.status_code}"
            text = _visible(page.text)
            shown = sorted(token for token in forbidden if _found(text, token))
            assert not shown, f"{role} {path}: English codes shown: {shown}"


def test_the_console_export_reads_in_chinese_with_dates_and_numbers(runtime, client):
    ids = _populate(runtime, client)
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(Delivery).where(Delivery.id == ids["failed"]).values(last_error=FORMULA)
        )
    answer = client.get("/console/deliveries/export", params={"format": "xlsx"})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    formulas = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA]
    assert formulas and all(c.data_type == "s" for c in formulas)  # text, never run
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert all(TEMPLATES_CJK.search(str(h)) for h in headers), headers
    assert "政策标题" in headers
    body = [dict(zip(headers, row, strict=True)) for row in rows[1:]]
    assert body and all(row["政策标题"] == COMPOSED["title"] for row in body if row["政策编号"])
    sent = [row for row in body if row["状态"] == "已发送"]
    assert sent and isinstance(sent[0]["发送时间"], datetime)
    assert all(isinstance(row["尝试次数"], int) for row in body)
    assert {row["状态"] for row in body} <= {
        i18n.catalogue()[f"status.{s}"][i18n.ZH] for s in DeliveryStatus
    }
    csv_text = client.get("/console/deliveries/export", params={"format": "csv"}).text
    header, first = csv_text.lstrip("\ufeff").splitlines()[:2]
    assert header.split(",") == list(headers)
    assert COMPOSED["title"] in first and "所属行业" in first
    assert "'" + FORMULA.replace('"', '""') in csv_text  # a formula stays text in CSV too


def test_the_compose_preview_warns_in_the_page_language(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    form = {**COMPOSED, "sectors": "A01", "csrf": csrf}
    chinese = client.post("/console/policies/preview", data=form).json()
    assert chinese["ok"] and chinese["warnings"] == [
        "不会送达任何企业", "行业代码：没有企业匹配 A01"
    ], chinese["warnings"]
    client.cookies.set(i18n.COOKIE, i18n.EN)
    english = client.post("/console/policies/preview", data=form).json()
    assert english["warnings"] == ["Reaches no enterprise", "Sectors: no enterprise matches A01"]
