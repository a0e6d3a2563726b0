"""A campaign created in the console's form, as a clerk who writes no JSON, Jinja2 or cron:
the schedule chosen in words becomes its cron, a template with a variable chip renders in the
preview with its SMS count, and a bad field is refused naming it in Chinese, what was typed
kept."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from notifier.domain.time_source import ManualTime
from notifier.store import audit
from notifier.store import campaigns as campaign_store

from support.factories import credit_code
from support.web_harness import console_runtime, make_key, signed_in, web_app

SHANGHAI = ZoneInfo("Asia/Shanghai")
SMS_TEXT = "{{ enterprise.name }}：技术改造补助开始申报"  # the chip's text and plain words


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    now = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
    return console_runtime(make_runtime, tmp_path, time_source=ManualTime(now))


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


def _form(csrf: str, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf": csrf, "title": "技术改造补助申报提醒", "name": "", "channels": ["sms"],
        "sectors": "C36", "template_sms": SMS_TEXT, "repeat": "weekly", "weekday": "0",
        "at": "09:00", "day": "1", "once_at": "", "cron": "", "ends_at": "2027-03-31",
        "throttle_per_minute": "60", "action": "create",
    }  # fmt: skip
    form.update(changes)
    return form


def test_a_weekly_campaign_on_monday_nine_is_created_without_json_or_cron(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    page = client.get("/console/campaigns/new")
    assert page.status_code == 200
    assert 'data-insert="{{ enterprise.name }}"' in page.text  # a chip, and its meaning
    assert "企业名称" in page.text and "周一" in page.text and "C3670" in page.text
    assert 'href="/console/campaigns/new"' in client.get("/console/campaigns").text

    made = client.post("/console/campaigns/new", data=_form(csrf), follow_redirects=False)
    assert made.status_code == 303, made.text
    campaign_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    with runtime.sessions() as session:
        (campaign,) = [c for c in campaign_store.list_all(session) if c.id == campaign_id]
        assert campaign.name == "技术改造补助申报提醒"  # made from the title
        assert campaign.cron == "0 9 * * MON" and campaign.once_at is None
        assert campaign.channels == ["sms"] and campaign.throttle_per_minute == 60
        assert campaign.audience["sectors"] == ["C36"]
        actions = [e.action for e in audit.page(session, target_type="campaign")]
    assert actions == ["campaign.create"]
    shown = client.get(made.headers["location"]).text
    assert "推送活动已创建" in shown
    listed = client.get("/console/campaigns").text
    assert "2026-12-07 09:00" in listed  # the next run: Monday at nine
    assert "每周周一 09:00" in listed  # the schedule in the words it was chosen in


def test_an_sms_template_with_a_chip_variable_renders_in_the_preview(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    shown = client.post("/console/campaigns/new", data=_form(csrf, action="preview"))
    assert shown.status_code == 200, shown.text
    sms = re.search(r'id="preview-sms">(.*?)</div>', shown.text, re.S)
    assert sms and "宁波灵峰汽车零部件有限公司：技术改造补助开始申报" in sms.group(1)
    count = re.search(r'id="preview-sms-count">([^<]+)<', shown.text)
    assert count and "短信字数" in count.group(1) and "计费条数 1" in count.group(1)
    assert "技术改造补助开始申报" in shown.text  # the typed text is kept in the form
    with runtime.sessions() as session:
        assert campaign_store.list_all(session) == []  # a preview stores nothing


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"throttle_per_minute": "很多"}, "每分钟上限"),
        ({"channels": []}, "发送渠道"),
        ({"template_sms": ""}, "短信内容"),
        ({"at": "25:00"}, "时间"),
        ({"repeat": "cron", "cron": "every monday"}, "cron"),
        ({"repeat": "once", "once_at": ""}, "发送时间"),
        ({"ends_at": "2026-11-01"}, "结束日期"),
        ({"template_sms": "{{ enterprise.nam }}"}, "消息内容"),
    ],
)
def test_a_bad_field_is_refused_naming_it_and_what_was_typed_is_kept(
    runtime, client, changes, named
):
    csrf = signed_in(client, make_key(runtime, "staff"))
    refused = client.post("/console/campaigns/new", data=_form(csrf, **changes))
    assert refused.status_code == 400
    error = re.search(r'id="campaign-error">([^<]+)<', refused.text)
    assert error and error.group(1).startswith(named), error
    assert 'value="技术改造补助申报提醒"' in refused.text  # the title typed is kept
    with runtime.sessions() as session:
        assert campaign_store.list_all(session) == []


def test_an_uploaded_list_of_credit_codes_is_the_audience(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    codes = f"统一社会信用代码\n{credit_code(1)}\n{credit_code(2)}\n".encode()
    made = client.post(
        "/console/campaigns/new",
        data=_form(csrf, sectors=""),
        files={"credit_codes_upload": ("codes.csv", codes, "text/csv")},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    with runtime.sessions() as session:
        (campaign,) = campaign_store.list_all(session)
    assert campaign.audience["credit_codes"] == [credit_code(1), credit_code(2)]


def test_a_once_campaign_takes_the_time_picked(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    form = _form(csrf, repeat="once", once_at="2026-12-10T09:30", ends_at="")
    made = client.post("/console/campaigns/new", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    with runtime.sessions() as session:
        (campaign,) = campaign_store.list_all(session)
    assert campaign.cron is None and campaign.once_at is not None
    assert campaign.once_at.astimezone(SHANGHAI) == datetime(2026, 12, 10, 9, 30, tzinfo=SHANGHAI)
