"""The console's campaign pages, as staff would use them: create one from its campaign file
(a bad one refused naming the field, nothing stored), see it listed and shown, preview it for
one enterprise, follow a run's progress, pause, resume and cancel it; every change audited."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from web_harness import console_runtime, make_key, signed_in, web_app

from notifier.domain.time_source import ManualTime
from notifier.jobs.clock import scan_campaign_runs
from notifier.services.delivery.fanout import fan_out
from notifier.store import audit
from notifier.store import campaigns as campaign_store

from factories import Enqueued, credit_code

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAMPAIGN = {
    "name": "tech-upgrade",
    "title": "技术改造补助申报提醒",
    "channels": ["短信", "邮件"],
    "targets": {"sectors": ["C36"]},
    "templates": {
        "短信": {"body": "{{ enterprise.name }}：{{ campaign.title }}，{{ run.date }}"},
        "邮件": {"subject": "{{ campaign.title }}", "body": "{{ enterprise.name }}，您好。"},
    },
    "schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Shanghai"},
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
    # The create box starts with the working example from docs/examples/.
    assert "2026-tech-upgrade" in listing.text
    made = client.post(
        "/console/campaigns", data={"campaign": json.dumps(CAMPAIGN), "csrf": csrf},
        follow_redirects=False,
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


def test_a_bad_campaign_file_is_refused_naming_the_field_and_nothing_is_stored(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    sent = json.dumps({**CAMPAIGN, "channels": ["fax"]})
    refused = client.post("/console/campaigns", data={"campaign": sent, "csrf": csrf})
    assert refused.status_code == 400
    error = re.search(r'id="campaign-error">([^<]+)<', refused.text)
    assert error and "channels" in error.group(1)
    assert "fax" in refused.text  # the sent text is kept in the box
    broken = client.post("/console/campaigns", data={"campaign": "{not json", "csrf": csrf})
    assert broken.status_code == 400 and 'id="campaign-error"' in broken.text
    with runtime.sessions() as session:
        assert campaign_store.list_all(session) == []
    assert _audited(runtime) == []
