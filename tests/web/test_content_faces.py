"""The content rules on every face: the API refuses a text with a forbidden word (422, the
field, the word and its position in the body), the console's compose form shows the refusal
with its place and the live preview shows a sensitive word as a warning, the campaign form
keeps the message class, and the command line says it in one line. The message class travels
through the policy file and the API's answers."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.apiclient import make_api
from support.cli import Notifier, assert_one_line_error
from support.factories import Firm, enterprise_csv, policy
from support.forms import fields_of, published_id
from support.web_harness import (
    CAMPAIGN_FORM,
    COMPOSED,
    console_runtime,
    make_key,
    signed_in,
    web_app,
)

CONTENT = {"forbidden_words": ["稳赚"], "sensitive_words": ["补贴"]}


@pytest.fixture
def api(database_url, make_runtime):
    return make_api(make_runtime(database_url=database_url, content=CONTENT))


def test_the_api_refuses_a_forbidden_word_with_422_naming_the_field_the_word_and_its_offset(api):
    answer = api.post("/api/v1/policies", "staff", json=policy(summary="投资稳赚，按10%补助。"))

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == "summary" and "稳赚" in error["reason"]
    (finding,) = [f for f in error["findings"] if f["refuses"]]
    assert (finding["place"], finding["word"], finding["offset"]) == ("summary", "稳赚", 2)
    assert finding["excerpt"] == "投资稳赚，按10%补助。"
    assert api.get("/api/v1/policies").json() == []


def test_the_api_takes_the_message_class_in_chinese_and_shows_it(api):
    answer = api.post("/api/v1/policies", "staff", json=policy(message_class="营销"))
    assert answer.status_code == 200, answer.text
    shown = api.get(f"/api/v1/policies/{answer.json()['id']}").json()
    assert shown["message_class"] == "marketing"
    refused = api.post("/api/v1/policies", "staff", json=policy(message_class="广告"))
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "message_class"


def test_the_api_preview_lists_a_sensitive_word_as_a_warning(api):
    answer = api.post("/api/v1/policies/preview", "staff", json=policy(summary="设备补贴"))
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["content"]
    assert (found["code"], found["refuses"], found["place"]) == ("sensitive_word", False, "summary")


@pytest.fixture
def console(make_runtime, tmp_path: Path):
    runtime = console_runtime(make_runtime, tmp_path, content=CONTENT)
    client = TestClient(web_app(runtime))
    return client, signed_in(client, make_key(runtime, "staff"))


def test_the_compose_form_shows_a_refusal_with_its_place_and_keeps_what_was_typed(console):
    client, csrf = console
    data = {**COMPOSED, "csrf": csrf, "summary": "稳赚的补助", "message_class": "marketing"}

    answer = client.post("/console/policies", data=data)

    assert answer.status_code == 400
    page = html.unescape(answer.text)
    assert 'id="content-refused"' in page
    assert "摘要：含禁用词“稳赚”（第 1 个字符：“稳赚的补助”）" in page
    assert '<option value="marketing" selected>营销</option>' in page


def test_the_live_preview_shows_a_sensitive_word_in_yellow_and_a_forbidden_one_in_red(console):
    client, csrf = console
    data = {**COMPOSED, "csrf": csrf, "summary": "稳赚的补贴"}

    shown = client.post("/console/policies/preview", data=data).json()

    assert shown["ok"]
    assert [(f["refuses"], f["text"][:2]) for f in shown["content"]] == [
        (True, "摘要"), (False, "摘要"),
    ]  # fmt: skip
    assert "敏感词“补贴”" in shown["content"][1]["text"]


def test_the_campaign_form_keeps_the_message_class_and_shows_it_on_the_campaign(console):
    client, csrf = console
    data = {**CAMPAIGN_FORM, "csrf": csrf, "message_class": "marketing"}

    answer = client.post("/console/campaigns/new", data=data)

    assert answer.status_code == 200, answer.text
    assert 'id="campaign-message-class">营销<' in answer.text


def test_the_command_line_refuses_in_one_line_naming_the_word(tmp_path, sqlite_url):
    env = {
        "NOTIFIER_DATABASE_URL": sqlite_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
        "NOTIFIER_CONTENT__FORBIDDEN_WORDS": json.dumps(["稳赚"]),
    }
    notifier = Notifier(env, tmp_path)
    notifier("enterprises", "import", notifier.file("a.csv", enterprise_csv([Firm(1)])))
    path = notifier.file("p.json", json.dumps(policy(title="稳赚补助")))

    refused = notifier("policies", "publish", path, status=2)

    assert_one_line_error(refused, "title", "稳赚", "第 1 个字符")
    shown = notifier("policies", "preview", path)  # the preview says it and refuses nothing
    assert "refused: title: 含禁用词“稳赚”" in shown.stdout.replace("\n", "")


def test_the_api_refuses_a_campaign_whose_sms_links_to_an_unlisted_domain(api):
    body = {
        "name": "fair",
        "title": "春季产销对接会",
        "channels": ["短信"],
        "templates": {"sms": {"body": "{{ campaign.title }}，报名 t.cn/A1b2"}},
        "schedule": {"once_at": "2030-03-01T10:00"},
        "message_class": "营销",
    }

    answer = api.post("/api/v1/campaigns", "staff", json=body)

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == "sms"
    (finding,) = error["findings"]
    assert (finding["code"], finding["word"]) == ("link_domain", "t.cn")
    assert api.get("/api/v1/campaigns").json() == []


def test_the_correction_form_comes_with_the_class_and_shows_a_change_of_it_side_by_side(console):
    client, csrf = console
    composed = {**COMPOSED, "csrf": csrf, "message_class": "marketing"}
    policy_id = published_id(client.post("/console/policies", data=composed))
    page = client.get(f"/console/policies/{policy_id}")
    assert "消息类型</span>: 营销" in page.text

    sent = fields_of(client.get(f"/console/policies/{policy_id}/correct").text)
    assert sent["message_class"] == ["marketing"]
    sent["message_class"] = ["notice"]
    shown = client.post(f"/console/policies/{policy_id}/correct", data=sent)

    row = re.search(r'id="change-message_class">(.*?)</tr>', shown.text, re.S).group(1)
    assert "<td>消息类型</td>" in row and ">营销<" in row and ">通知<" in row
