"""A campaign created in the console's form, as a clerk who writes no JSON, Jinja2 or cron:
the schedule chosen in words becomes its cron, a template with a variable chip renders in the
preview for a firm of the register with its SMS count, a stored template fills an editor, a bad
field is refused naming it in Chinese, what was typed kept; a campaign not yet run is edited in
the same form, and refused once a run has started."""

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


def _preview_sms(page: str) -> str:
    sms = re.search(r'id="preview-sms">(.*?)</div>', page, re.S)
    assert sms, page[-2000:]
    return sms.group(1)


def test_an_sms_template_with_a_chip_variable_renders_in_the_preview(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    shown = client.post("/console/campaigns/new", data=_form(csrf, action="preview"))
    assert shown.status_code == 200, shown.text
    # The audience's first firm, as its provider sends it (the signature included).
    assert "测试企业1有限公司：技术改造补助开始申报" in _preview_sms(shown.text)
    assert f"测试企业1有限公司（{credit_code(1)}）" in shown.text
    count = re.search(r'id="preview-sms-count">([^<]+)<', shown.text)
    assert count and "短信字数" in count.group(1) and "计费条数 1" in count.group(1)
    assert "技术改造补助开始申报" in shown.text  # the typed text is kept in the form
    with runtime.sessions() as session:
        assert campaign_store.list_all(session) == []  # a preview stores nothing


def test_the_preview_renders_for_the_firm_chosen_by_name_or_credit_code(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    form = client.get("/console/campaigns/new").text
    assert f'<option value="{credit_code(2)}">测试企业2有限公司</option>' in form  # the list
    for chosen in ("测试企业2有限公司", credit_code(2)):
        data = _form(csrf, action="preview", preview_firm=chosen)
        shown = client.post("/console/campaigns/new", data=data)
        assert "测试企业2有限公司：技术改造补助开始申报" in _preview_sms(shown.text), chosen
    several = client.post("/console/campaigns/new", data=_form(csrf, action="preview",
                                                               preview_firm="测试企业"))
    error = re.search(r'id="campaign-error">([^<]+)<', several.text)
    assert several.status_code == 400 and error and error.group(1).startswith("预览企业")
    # An audience that reaches nobody: the variables' example values.
    nobody = client.post("/console/campaigns/new", data=_form(csrf, action="preview",
                                                              sectors="A01"))
    assert "宁波灵峰汽车零部件有限公司：技术改造补助开始申报" in _preview_sms(nobody.text)


def test_a_stored_template_chosen_fills_its_channels_editor(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    body = "{{ enterprise.name }}：请于月底前完成技改申报。"
    saved = {"name": "技改通知", "channel": "sms", "body": body, "csrf": csrf}
    assert client.post("/console/templates", data=saved).status_code in (200, 303)
    form = client.get("/console/campaigns/new").text
    assert '<option value="技改通知">' in form
    filled = client.post(
        "/console/campaigns/new", data=_form(csrf, action="stored", stored_sms="技改通知")
    )
    assert filled.status_code == 200
    editor = re.search(r'<textarea id="template_sms"[^>]*>([^<]*)</textarea>', filled.text)
    assert editor and editor.group(1) == body
    assert 'value="技术改造补助申报提醒"' in filled.text  # the rest of the form kept
    with runtime.sessions() as session:
        assert campaign_store.list_all(session) == []


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


def _made(client: TestClient, csrf: str, **changes: object) -> int:
    made = client.post("/console/campaigns/new", data=_form(csrf, **changes),
                       follow_redirects=False)  # fmt: skip
    assert made.status_code == 303, made.text
    return int(made.headers["location"].split("/")[-1].split("?")[0])


def test_a_campaign_not_yet_run_is_edited_in_the_form_it_was_made_with(runtime, client):
    csrf = signed_in(client, make_key(runtime, "staff"))
    campaign_id = _made(client, csrf)
    page = client.get(f"/console/campaigns/{campaign_id}").text
    assert f'href="/console/campaigns/{campaign_id}/edit"' in page  # 编辑
    form = client.get(f"/console/campaigns/{campaign_id}/edit")
    assert form.status_code == 200 and "编辑推送活动" in form.text
    assert 'name="repeat" value="weekly" checked' in form.text
    assert '<option value="0" selected>' in form.text and 'value="09:00"' in form.text
    assert 'value="2027-03-31"' in form.text and 'value="60"' in form.text
    assert "技术改造补助开始申报</textarea>" in form.text
    assert 'id="sectors" name="sectors" value="C36"' in form.text

    edited = _form(csrf, name="技术改造补助申报提醒", repeat="monthly", day="15", at="10:30",
                   template_sms="{{ enterprise.name }}：技改补助本月15日截止", action="save")
    saved = client.post(f"/console/campaigns/{campaign_id}/edit", data=edited,
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303, saved.text
    shown = client.get(saved.headers["location"]).text
    assert "推送活动已保存" in shown and "每月 15 日 10:30" in shown
    preview = client.get(f"/console/campaigns/{campaign_id}",
                         params={"enterprise": credit_code(1)}).text  # fmt: skip
    assert "测试企业1有限公司：技改补助本月15日截止" in preview
    with runtime.sessions() as session:
        (campaign,) = campaign_store.list_all(session)
        assert campaign.cron == "30 10 15 * *" and campaign.status == "scheduled"
        actions = [e.action for e in audit.page(session, target_type="campaign")]
    assert actions == ["campaign.update", "campaign.create"]
    again = client.get(f"/console/campaigns/{campaign_id}/edit").text
    assert 'name="repeat" value="monthly" checked' in again
    assert '<option value="15" selected>' in again


def test_an_edit_is_refused_once_a_run_has_started(runtime, client):
    from notifier.jobs.clock import scan_campaign_runs

    csrf = signed_in(client, make_key(runtime, "staff"))
    campaign_id = _made(client, csrf, repeat="once", once_at="2026-12-02T10:00", ends_at="")
    form = client.get(f"/console/campaigns/{campaign_id}/edit").text
    assert 'name="repeat" value="once" checked' in form and 'value="2026-12-02T10:00"' in form
    assert scan_campaign_runs(runtime)  # due now: the clock makes its run
    page = client.get(f"/console/campaigns/{campaign_id}").text
    assert f'href="/console/campaigns/{campaign_id}/edit"' not in page
    edited = _form(csrf, repeat="weekly", action="save", template_sms="改过的内容")
    refused = client.post(f"/console/campaigns/{campaign_id}/edit", data=edited)
    assert refused.status_code == 400
    error = re.search(r'id="campaign-error">([^<]+)<', refused.text)
    assert error and "已开始运行，不能再编辑" in error.group(1)
    assert "改过的内容" in refused.text  # what was typed is kept
    with runtime.sessions() as session:
        (campaign,) = campaign_store.list_all(session)
        assert campaign.cron is None and campaign.once_at is not None
        actions = [e.action for e in audit.page(session, target_type="campaign")]
    assert "campaign.update" not in actions
