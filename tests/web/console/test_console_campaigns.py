"""The console's campaign pages, as staff would use them: create one in the form (no JSON box
any more), see it listed and shown, preview it for one enterprise, test-send it to one's own
phone and address, follow a run's progress, pause, resume and cancel it; every change
audited."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from notifier.domain.time_source import ManualTime
from notifier.jobs.clock import scan_campaign_runs
from notifier.services.access import users
from notifier.services.delivery.fanout import fan_out
from notifier.store import audit
from notifier.store import campaigns as campaign_store
from notifier.store.models import Delivery

from support.factories import Enqueued, acting, credit_code
from support.web_harness import console_runtime, csrf_of, make_key, signed_in, web_app

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Weekly on Monday at 09:00 by SMS and email, to the C36 firms.
CAMPAIGN = {
    "name": "tech-upgrade",
    "title": "技术改造补助申报提醒",
    "channels": ["sms", "email"],
    "sectors": "C36",
    "template_sms": "{{ enterprise.name }}：{{ campaign.title }}，{{ run.date }}",
    "subject_email": "{{ campaign.title }}",
    "template_email": "{{ enterprise.name }}，您好。",
    "repeat": "weekly",
    "weekday": "0",
    "at": "09:00",
    "action": "create",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def time_source() -> ManualTime:
    return ManualTime(at("2026-11-29 12:00"))  # a Sunday


@pytest.fixture
def runtime(make_runtime, tmp_path: Path, time_source):
    return console_runtime(make_runtime, tmp_path, time_source=time_source)


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


def _audited(runtime) -> list[str]:
    with runtime.sessions() as session:
        return [e.action for e in audit.page(session, target_type="campaign")]


def _status(client: TestClient, campaign: int) -> str:
    page = client.get(f"/console/campaigns/{campaign}").text
    found = re.search(r'id="campaign-status">([^<]+)<', page)
    assert found
    return found.group(1)


def test_a_campaign_is_created_shown_previewed_followed_paused_resumed_and_cancelled(
    runtime, client, time_source
):
    staff = make_key(runtime, "staff")
    csrf = signed_in(client, staff)
    listing = client.get("/console/campaigns")
    assert listing.status_code == 200 and "还没有推送活动" in listing.text
    assert 'href="/console/campaigns"' in listing.text  # in the menu
    assert 'id="campaign-file' not in listing.text  # no JSON box where a clerk goes
    made = client.post(
        "/console/campaigns/new", data={**CAMPAIGN, "csrf": csrf}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    campaign = int(made.headers["location"].split("/")[-1].split("?")[0])
    shown = client.get(made.headers["location"])
    assert "推送活动已创建" in shown.text and "0 9 * * MON" in shown.text
    assert "当前没有正在进行的运行" in shown.text
    listed = client.get("/console/campaigns").text
    assert "tech-upgrade" in listed and "2026-11-30 09:00" in listed  # the next run

    preview = client.get(f"/console/campaigns/{campaign}", params={"enterprise": credit_code(1)})
    sms = re.search(r'id="preview-sms">(.*?)</div>', preview.text, re.S)
    assert sms and "测试企业1有限公司：技术改造补助申报提醒，2026-11-29" in sms.group(1)
    assert "计费条数 1" in sms.group(1)
    unknown = client.get(f"/console/campaigns/{campaign}", params={"enterprise": "nope"})
    assert 'id="campaign-error"' in unknown.text and "enterprise" in unknown.text

    # Monday 09:00: the clock makes the run; its deliveries are queued, none sent yet.
    time_source.set(at("2026-11-30 09:00:30"))
    csrf = signed_in(client, staff)  # yesterday's session has expired (8 hours)
    (run,) = scan_campaign_runs(runtime)
    fan_out(runtime.sessions, Enqueued(), run, settings=runtime.settings.delivery)
    progress = client.get(f"/console/campaigns/{campaign}/progress").json()
    assert progress["current"]["trigger_id"] == run
    total = progress["current"]["total"]
    assert total > 0 and progress["current"]["counts"] == {"queued": total}
    assert {"rate_per_minute", "eta_seconds", "left"} <= set(progress["current"])
    page = client.get(f"/console/campaigns/{campaign}").text
    assert re.search(rf'id="progress-total">{total}<', page) and "排队中" in page

    for action, word in (("pause", "已暂停"), ("resume", "进行中"), ("cancel", "已取消")):
        changed = client.post(f"/console/campaigns/{campaign}/{action}", data={"csrf": csrf})
        assert changed.status_code == 200 and _status(client, campaign) == word, action
    again = client.post(f"/console/campaigns/{campaign}/resume", data={"csrf": csrf})
    assert again.status_code == 400 and 'id="campaign-error"' in again.text
    latest = client.get(f"/console/campaigns/{campaign}/progress").json()["runs"][-1]
    assert latest["counts"] == {"cancelled": total}
    assert _audited(runtime) == [
        "campaign.cancel", "campaign.resume", "campaign.pause", "campaign.create"
    ]
    # Without the form's CSRF value nothing changes.
    assert client.post(f"/console/campaigns/{campaign}/pause", data={}).status_code in (400, 403)
    assert client.get("/console/campaigns/999999").status_code == 404


def _made(client: TestClient, csrf: str) -> int:
    made = client.post(
        "/console/campaigns/new", data={**CAMPAIGN, "csrf": csrf}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    return int(made.headers["location"].split("/")[-1].split("?")[0])


def _outcome(page: str, channel: str) -> str:
    row = re.search(rf'id="tested-{channel}">(.*?)</tr>', page, re.S)
    assert row, page[-3000:]
    return re.sub(r"<[^>]+>", " ", row.group(1))


def test_a_campaign_is_test_sent_to_ones_own_phone_and_each_channel_says_what_happened(
    runtime, client
):
    csrf = signed_in(client, make_key(runtime, "staff"))
    campaign = _made(client, csrf)
    page = client.get(f"/console/campaigns/{campaign}").text
    assert 'id="test-send-form"' in page and 'name="to_sms"' in page and 'name="to_email"' in page

    sent = client.post(
        f"/console/campaigns/{campaign}/test-send",
        data={"csrf": csrf, "to_sms": "13800009999", "to_email": ""},
    )
    assert sent.status_code == 200, sent.text
    assert "已发送" in _outcome(sent.text, "sms") and "13800009999" in _outcome(sent.text, "sms")
    assert "未填写地址，未发送" in _outcome(sent.text, "email")
    # The dry-run provider took it: the message as the firm would get it, to the clerk.
    (outbox,) = (runtime.settings.outbox_dir / "sms").glob("*.json")
    message = json.loads(outbox.read_text(encoding="utf-8"))
    assert message["to"].endswith("13800009999")
    assert "测试企业1有限公司：技术改造补助申报提醒" in message["text"]

    nobody = credit_code(9)  # a valid code no firm of the register has
    refused = client.post(
        f"/console/campaigns/{campaign}/test-send",
        data={"csrf": csrf, "to_sms": "13800009999", "to_email": "me@example.com",
              "test_firm": nobody},
    )  # fmt: skip
    assert refused.status_code == 200
    for channel in ("sms", "email"):
        assert "未发送：企业 enterprise: 没有该企业" in _outcome(refused.text, channel)
    assert f'value="{nobody}"' in refused.text  # what was typed is kept
    assert _audited(runtime).count("campaign.test_send") == 1
    with runtime.sessions() as session:  # nothing counts as a delivery to a firm
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert client.post(f"/console/campaigns/{campaign}/test-send", data={}).status_code in (
        400, 403,
    )  # fmt: skip


def test_the_test_send_form_starts_with_the_phone_on_the_clerks_account(runtime, client):
    users.add_user(acting(runtime), name="大碶街道 李科员", role="staff",
                   password="clerk password 1", phone="13900001111")  # fmt: skip
    csrf = signed_in(client, make_key(runtime, "staff"))
    campaign = _made(client, csrf)
    client.cookies.clear()
    login = client.get("/console/login").text
    signed = client.post("/console/login", data={
        "name": "大碶街道 李科员", "password": "clerk password 1", "csrf": csrf_of(login),
    }, follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303
    page = client.get(f"/console/campaigns/{campaign}").text
    assert 'id="to_sms" name="to_sms" maxlength="2000" value="13900001111"' in page


def test_the_json_box_is_gone_and_its_route_with_it(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    listing = client.get("/console/campaigns").text
    assert 'action="/console/campaigns"' not in listing and "<textarea" not in listing
    posted = client.post("/console/campaigns", data={"campaign": "{}", "csrf": csrf})
    assert posted.status_code in (404, 405)
    with runtime.sessions() as session:
        assert campaign_store.list_all(session) == []
