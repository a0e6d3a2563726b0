"""The audience's tags and topics are chosen from the values the register's firms have (boxes
with their numbers of firms, plain checkboxes that work without scripts) or typed new, on the
compose form, the correction form and the campaign form alike; targeting stays as it was:
every tag must match, and topics filter only firms that chose topics."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notifier.store import campaigns as campaign_store
from notifier.store import policies as policy_store

from support.factories import Firm
from support.web_harness import COMPOSED, console_runtime, make_key, seed, signed_in, web_app


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    built = console_runtime(make_runtime, tmp_path)  # firm 1 chose 补贴; 2 and 3 no topic
    seed(built, [Firm(4, tags="专精特新;规上"), Firm(5, tags="专精特新", topics="人才")])
    return built


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def csrf(client, runtime) -> str:
    return signed_in(client, make_key(runtime, "staff"))


def _form(csrf: str, **fields: object) -> dict[str, object]:
    return {**COMPOSED, "sectors": "", "topics": "", "csrf": csrf, **fields}


def _preview(client: TestClient, data: dict[str, object]) -> dict:
    return client.post("/console/policies/preview", data=data).json()


def _box(page: str, name: str, value: str) -> str:
    """The chip of ``value``: its checkbox and its count of firms."""
    box = rf'<input type="checkbox" name="{name}" value="{value}"[^>]*>[^<]*<span[^>]*>[^<]*'
    found = re.search(box, page)
    assert found, f"no {name} box {value}"
    return found.group(0)


def test_the_compose_form_offers_the_registers_tags_and_topics_with_their_counts(client, csrf):
    page = html.unescape(client.get("/console/policies/new").text)
    assert "2 家" in _box(page, "tags", "专精特新") and "1 家" in _box(page, "tags", "规上")
    assert "1 家" in _box(page, "topics", "补贴") and "1 家" in _box(page, "topics", "人才")
    assert 'id="tags" name="tags" value=""' in page  # a new one is typed here
    assert 'id="topics" name="topics" value=""' in page


def test_ticked_and_typed_tags_must_all_match_and_topics_filter_only_those_who_chose(
    client, csrf
):
    assert _preview(client, _form(csrf, tags="专精特新"))["enterprises"] == 2
    both = _form(csrf, tags=["专精特新", "规上"])  # two boxes ticked
    assert _preview(client, both)["enterprises"] == 1
    box_and_typed = _form(csrf, tags=["专精特新", "规上 "])  # a box, and the typed field
    assert _preview(client, box_and_typed)["enterprises"] == 1
    # 人才: firm 5 chose it; firms 2, 3 and 4 chose no topic; firm 1 chose 补贴 only.
    assert _preview(client, _form(csrf, topics="人才"))["enterprises"] == 4


def test_a_new_tag_is_published_and_a_refused_form_keeps_the_boxes_ticked(runtime, client, csrf):
    refused = client.post(
        "/console/policies",
        data=_form(csrf, tags=["专精特新", "新资质"], topics=["人才"], deadline_rungs="99d"),
    )
    assert refused.status_code == 400
    page = html.unescape(refused.text)
    assert "checked" in _box(page, "tags", "专精特新")
    assert "checked" not in _box(page, "tags", "规上")
    assert 'id="tags" name="tags" value="新资质"' in page
    assert "checked" in _box(page, "topics", "人才")
    published = client.post(
        "/console/policies",
        data=_form(csrf, tags=["专精特新", "新资质"], topics=["人才", "出口"], confirm_empty="yes"),
    )
    assert published.status_code == 200 and "已发布" in published.text
    with runtime.sessions() as session:
        (stored,) = policy_store.list_recent(session)
        assert stored.target_tags == ["专精特新", "新资质"]
        assert stored.topics == ["人才", "出口"]
        policy_id = stored.id
    correcting = html.unescape(client.get(f"/console/policies/{policy_id}/correct").text)
    assert "checked" in _box(correcting, "tags", "专精特新")
    assert 'id="tags" name="tags" value="新资质"' in correcting
    assert "checked" in _box(correcting, "topics", "人才")
    assert 'id="topics" name="topics" value="出口"' in correcting


def test_the_campaign_form_offers_the_same_tags_and_no_topics(runtime, client, csrf):
    page = html.unescape(client.get("/console/campaigns/new").text)
    assert "2 家" in _box(page, "tags", "专精特新")
    assert 'name="topics"' not in page and page.count('id="tags"') == 1
    form = {
        "csrf": csrf, "title": "资质企业培训提醒", "name": "", "channels": ["sms"],
        "tags": ["专精特新", "规上"], "template_sms": "{{ enterprise.name }}：培训",
        "repeat": "weekly", "weekday": "0", "at": "09:00", "day": "1", "action": "create",
    }  # fmt: skip
    made = client.post("/console/campaigns/new", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    with runtime.sessions() as session:
        (campaign,) = campaign_store.list_all(session)
        assert campaign.audience["tags"] == ["专精特新", "规上"]
