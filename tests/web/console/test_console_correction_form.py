"""Correcting (更正) a policy in the compose form: the form comes filled with the policy, the
changed fields are shown side by side before anything is saved, and saving with "notify"
sends the correction to the firms the policy reached. A refusal names the field in Chinese
and keeps what was typed."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.jobs.worker import start_worker
from notifier.store import policies as policy_store
from notifier.store.models import Delivery, Trigger, TriggerKind

from support.forms import fields_of, published_id
from support.web_harness import COMPOSED, console_runtime, make_key, run_queued, signed_in, web_app


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)  # firms 1 and 2 under C36, 3 not


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def csrf(client, runtime) -> str:
    return signed_in(client, make_key(runtime, "staff"))


def test_a_correction_shows_the_changes_side_by_side_then_saves_and_notifies_the_firms_reached(
    runtime, client, csrf
):
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        composed = {
            **COMPOSED, "csrf": csrf, "deadline_title": "申报截止",
            "deadline_due": "2031-06-30T17:00", "deadline_ladder": "5wd 2wd 0d",
        }  # fmt: skip
        policy_id = published_id(client.post("/console/policies", data=composed))
        run_queued(runtime, worker)
        page = client.get(f"/console/policies/{policy_id}/correct").text
        sent = fields_of(page)
        assert sent["title"] == [COMPOSED["title"]] and sent["sectors"][0] == "C36"
        assert sent["deadline_title"][0] == "申报截止"
        assert sent["deadline_ladder"][0] == "5wd 2wd 0d"
        assert sent["deadline_due"][0] == "2031-06-30T17:00"
        sent["summary"] = ["按设备投资额的12%给予补助。"]
        sent["deadline_due"][0] = "2031-07-15T17:00"

        shown = client.post(f"/console/policies/{policy_id}/correct", data=sent)
        assert shown.status_code == 200
        assert re.search(
            r'id="change-summary"><td>摘要</td><td class="before"[^>]*>按设备投资额的10%'
            r'给予补助。</td><td class="after"[^>]*>按设备投资额的12%', shown.text
        )
        deadline_row = re.search(r'id="change-deadlines">(.*?)</tr>', shown.text, re.S).group(1)
        assert "2031-06-30 17:00" in deadline_row and "2031-07-15 17:00" in deadline_row
        assert "5个工作日、2个工作日、当天" in deadline_row
        assert 'id="change-title"' not in shown.text
        with runtime.sessions() as session:  # nothing is saved before the clerk confirms
            assert policy_store.get(session, policy_id).summary == COMPOSED["summary"]

        confirmed = {**fields_of(shown.text), "notify": ["1"]}
        saved = client.post(f"/console/policies/{policy_id}/correct", data=confirmed)
        run_queued(runtime, worker)
    finally:
        worker.stop()
    assert saved.status_code == 200 and "正在向企业发送更正通知" in saved.text
    with runtime.sessions() as session:
        policy = policy_store.get(session, policy_id)
        assert policy.summary == "按设备投资额的12%给予补助。"
        assert [d.remind for d in policy.deadlines] == [["5wd", "2wd", "0d"]]
        reached = set(session.scalars(
            select(Delivery.enterprise_id).join(Trigger, Delivery.trigger_id == Trigger.id)
            .where(Trigger.kind == TriggerKind.POLICY_PUBLISHED)
        ))  # fmt: skip
        corrected = set(session.scalars(
            select(Delivery.enterprise_id).join(Trigger, Delivery.trigger_id == Trigger.id)
            .where(Trigger.kind == TriggerKind.POLICY_CORRECTED)
        ))  # fmt: skip
    assert reached and corrected == reached


def test_a_form_changed_after_the_comparison_is_compared_again_not_saved(runtime, client, csrf):
    policy_id = published_id(client.post("/console/policies", data={**COMPOSED, "csrf": csrf}))
    sent = fields_of(client.get(f"/console/policies/{policy_id}/correct").text)
    sent["summary"] = ["改一次"]
    shown = fields_of(client.post(f"/console/policies/{policy_id}/correct", data=sent).text)
    shown["summary"] = ["又改了"]
    again = client.post(f"/console/policies/{policy_id}/correct", data=shown)
    assert again.status_code == 200 and 'id="changed-fields"' in again.text
    assert "又改了" in again.text
    with runtime.sessions() as session:
        assert policy_store.get(session, policy_id).summary == COMPOSED["summary"]


def test_a_refused_correction_names_the_field_in_chinese_and_keeps_what_was_typed(
    runtime, client, csrf
):
    policy_id = published_id(client.post("/console/policies", data={**COMPOSED, "csrf": csrf}))
    sent = fields_of(client.get(f"/console/policies/{policy_id}/correct").text)
    sent["deadline_rungs"][0] = "5wd 9x"
    sent["summary"] = ["打错了提醒"]
    refused = client.post(f"/console/policies/{policy_id}/correct", data=sent)
    assert refused.status_code == 400
    error = html.unescape(re.search(r'id="publish-error">([^<]+)<', refused.text).group(1))
    assert error.startswith("第 1 个期限的提醒：") and "9x" in error
    assert "5wd 9x" in refused.text and "打错了提醒" in refused.text
    assert f'/console/policies/{policy_id}/correct' in refused.text


def test_the_policy_page_offers_the_form_and_no_json(client, csrf):
    policy_id = published_id(client.post("/console/policies", data={**COMPOSED, "csrf": csrf}))
    page = client.get(f"/console/policies/{policy_id}").text
    assert f'href="/console/policies/{policy_id}/correct"' in page
    assert "JSON" not in page and 'name="policy_json"' not in page


def test_a_changed_guide_field_is_shown_side_by_side_under_its_chinese_name(
    runtime, client, csrf
):
    composed = {**COMPOSED, "csrf": csrf, "materials": "申报表", "enquiry_phone": "12345"}
    policy_id = published_id(client.post("/console/policies", data=composed))
    sent = fields_of(client.get(f"/console/policies/{policy_id}/correct").text)
    assert sent["materials"] == ["申报表"] and sent["enquiry_phone"] == ["12345"]
    sent["materials"] = ["申报表、营业执照"]
    shown = client.post(f"/console/policies/{policy_id}/correct", data=sent)
    assert re.search(
        r'id="change-materials"><td>所需材料</td><td class="before"[^>]*>申报表</td>'
        r'<td class="after"[^>]*>申报表、营业执照', shown.text
    )
    assert 'id="change-summary"' not in shown.text
