"""A policy's reach ladder in the console: written in words on the compose form, refused in
Chinese naming the field when it is not working days, shown on the policy page, and given back
in words on the correction form."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notifier.store import policies as policy_store

from support.forms import published_id
from support.web_harness import COMPOSED, console_runtime, make_key, signed_in, web_app


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def csrf(client, runtime) -> str:
    return signed_in(client, make_key(runtime, "staff"))


def _stored_ladder(runtime, policy_id: int) -> list[int] | None:
    with runtime.sessions() as session:
        return policy_store.get(session, policy_id).reach_ladder


def test_the_ladder_is_written_in_words_shown_on_the_policy_and_given_back_to_correct(
    runtime, client, csrf
):
    page = client.get("/console/policies/new").text
    assert 'name="reach_ladder"' in page and "再次发送" in page
    answer = client.post(
        "/console/policies",
        data={**COMPOSED, "csrf": csrf, "ref": "ladder-1", "reach_ladder": "2个工作日、5个工作日"},
    )
    policy_id = published_id(answer)
    assert _stored_ladder(runtime, policy_id) == [2, 5]
    shown = html.unescape(client.get(f"/console/policies/{policy_id}").text)
    assert "再次发送" in shown and "2个工作日、5个工作日" in shown
    correct = html.unescape(client.get(f"/console/policies/{policy_id}/correct").text)
    assert 'name="reach_ladder" aria-label="再次发送" value="2个工作日、5个工作日"' in correct


def test_a_blank_ladder_takes_the_setting_and_none_sends_nothing_again(runtime, client, csrf):
    blank = published_id(client.post("/console/policies", data={**COMPOSED, "csrf": csrf}))
    assert _stored_ladder(runtime, blank) is None
    assert "默认（系统设置）" in client.get(f"/console/policies/{blank}").text
    never = client.post(
        "/console/policies",
        data={**COMPOSED, "csrf": csrf, "title": "另一项政策", "reach_ladder": "无"},
    )
    assert _stored_ladder(runtime, published_id(never)) == []


def test_a_ladder_that_is_not_working_days_is_refused_naming_the_field(runtime, client, csrf):
    refused = client.post(
        "/console/policies", data={**COMPOSED, "csrf": csrf, "reach_ladder": "3天"}
    )
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "再次发送：reach_ladder: '3天'：'3d' 须为发布后的工作日数" in text
    assert 'value="3天"' in text  # the form kept as sent
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []
