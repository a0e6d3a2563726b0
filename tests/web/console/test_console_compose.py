"""Composing a policy in the console: regions picked from the register (a street is a click,
its name alone resolves), sectors from the GB/T 4754-2017 catalogue (a class not in it is
refused naming the field), a policy that reaches no one held back until confirmed, and a
policy published without 编号 given one so it can be corrected."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notifier.store import policies as policy_store

from support.factories import Firm
from support.forms import fields_of, published_id
from support.web_harness import COMPOSED, console_runtime, make_key, seed, signed_in, web_app

DISTRICT = "浙江省/宁波市/北仑区"
DAQI = f"{DISTRICT}/大碶街道"
XINQI = f"{DISTRICT}/新碶街道"


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    built = console_runtime(make_runtime, tmp_path)  # firms 1-3 in 大碶街道/灵峰工业社区
    seed(built, [Firm(4, region=f"{XINQI}/算山社区"), Firm(5, region=f"{XINQI}/算山社区")])
    return built


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def csrf(client, runtime) -> str:
    return signed_in(client, make_key(runtime, "staff"))


def form(csrf: str, **fields: object) -> dict[str, object]:
    return {**COMPOSED, "sectors": "", "csrf": csrf, **fields}


def preview(client: TestClient, data: dict[str, object]) -> dict:
    return client.post("/console/policies/preview", data=data).json()


def test_the_compose_page_offers_the_registers_streets_and_communities_as_boxes(client, csrf):
    page = html.unescape(client.get("/console/policies/new").text)
    for path in (DISTRICT, DAQI, f"{DAQI}/灵峰工业社区", XINQI, f"{XINQI}/算山社区"):
        assert f'name="regions" value="{path}"' in page
    assert "新碶街道 <span" in page and "2 家" in page
    assert '<option value="C3670">C3670 汽车零部件及配件制造</option>' in page


def test_a_street_chosen_by_click_reaches_its_firms(runtime, client, csrf):
    chosen = preview(client, form(csrf, regions=XINQI))
    assert chosen["ok"] and chosen["enterprises"] == 2
    answer = client.post("/console/policies", data=form(csrf, regions=[XINQI, f"{XINQI}/算山社区"]))
    assert answer.status_code == 200 and "已发布" in answer.text
    with runtime.sessions() as session:
        stored = policy_store.get(session, published_id(answer))
        assert stored.target_regions == [XINQI, f"{XINQI}/算山社区"]


def test_a_street_typed_alone_resolves_to_its_full_path(client, csrf):
    assert preview(client, form(csrf, regions="大碶街道"))["enterprises"] == 3
    assert preview(client, form(csrf, regions="算山社区", sectors="C36"))["enterprises"] == 2
    both = preview(client, form(csrf, regions=["大碶街道", "新碶街道"]))
    assert both["enterprises"] == 5


def test_a_name_that_ends_two_regions_is_refused_naming_them(runtime, client, csrf):
    seed(runtime, [Firm(6, region="浙江省/宁波市/镇海区/新碶街道")])
    answer = preview(client, form(csrf, regions="新碶街道"))
    assert not answer["ok"] and "不唯一" in answer["error"] and "镇海区" in answer["error"]


def test_a_region_the_register_does_not_hold_is_refused_naming_the_field(runtime, client, csrf):
    answer = preview(client, form(csrf, regions="不存在街道"))
    assert not answer["ok"]
    assert answer["error"].startswith("targets.regions: 地区“不存在街道”不在企业名录")
    assert "not a region of the register" in answer["error"]
    refused = client.post("/console/policies", data=form(csrf, regions="不存在街道"))
    assert refused.status_code == 400 and "仍要发布" not in refused.text
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []


def test_a_sector_class_not_in_the_catalogue_is_refused_naming_the_field(runtime, client, csrf):
    refused = preview(client, form(csrf, sectors="C3699"))
    assert not refused["ok"] and "sectors" in refused["error"] and "C3699" in refused["error"]
    answer = client.post("/console/policies", data=form(csrf, sectors="C3699"))
    assert answer.status_code == 400 and "GB/T 4754-2017" in answer.text
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []


def test_a_sector_picked_by_name_or_from_the_list_is_its_code(client, csrf):
    assert preview(client, form(csrf, sectors="汽车制造业"))["enterprises"] == 4
    picked = preview(client, form(csrf, sectors=["", "C3670"]))  # the typed field, the list
    assert picked["enterprises"] == 4


def test_a_policy_that_reaches_no_one_is_held_back_until_the_clerk_confirms(runtime, client, csrf):
    nobody = form(csrf, tags="无此资质")  # a new tag: no firm has it yet
    held = client.post("/console/policies", data=nobody)
    assert held.status_code == 400 and "仍要发布" in held.text
    assert 'name="confirm_empty"' in held.text and "无此资质" in held.text
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []
    confirmed = client.post("/console/policies", data={**nobody, "confirm_empty": "yes"})
    assert confirmed.status_code == 200 and "已发布" in confirmed.text


def test_a_policy_published_without_a_ref_gets_one_and_can_be_corrected(client, csrf):
    published = client.post("/console/policies", data=form(csrf, sectors="C36"))
    policy_id = published_id(published)
    assert re.search(r"P-\d{8}-[0-9a-f]{10}", client.get(f"/console/policies/{policy_id}").text)
    sent = fields_of(client.get(f"/console/policies/{policy_id}/correct").text)
    sent["summary"] = ["按设备投资额的12%给予补助。"]
    shown = client.post(f"/console/policies/{policy_id}/correct", data=sent)
    revised = client.post(f"/console/policies/{policy_id}/correct", data=fields_of(shown.text))
    assert revised.status_code == 200 and "12%" in revised.text


def test_two_deadlines_each_with_a_preset_ladder_are_published_with_those_rungs(
    runtime, client, csrf
):
    page = client.get("/console/policies/new").text
    assert page.count('name="deadline_title"') == 3
    assert '<option value="5wd 2wd 0d" >5个工作日、2个工作日、当天</option>' in page
    assert '<option value="7d 3d 1d" >7天、3天、1天' in page
    data = form(
        csrf, sectors="C36",
        deadline_title=["申报截止", "材料补正截止", ""],
        deadline_due=["2031-06-30T17:00", "2031-07-15T17:00", ""],
        deadline_ladder=["5wd 2wd 0d", "7d 3d 1d", ""],
        deadline_rungs=["", "", ""],
    )  # fmt: skip
    answer = client.post("/console/policies", data=data)
    assert answer.status_code == 200 and "已发布" in answer.text
    # The policy's page lists them with their reminders in words.
    listed = answer.text[answer.text.index('id="policy-deadlines"'):]
    assert re.search(r">申报截止</a></td><td>2031-06-30 17:00</td><td>截止前 5 个工作日、", listed)
    assert re.search(r">材料补正截止</a></td><td>2031-07-15 17:00</td><td>截止前 7 天、", listed)
    with runtime.sessions() as session:
        deadlines = policy_store.get(session, published_id(answer)).deadlines
        assert sorted((d.title, d.remind) for d in deadlines) == [
            ("材料补正截止", ["7d", "3d", "1d"]),
            ("申报截止", ["5wd", "2wd", "0d"]),
        ]


def test_a_written_ladder_and_a_publication_time_are_taken_and_more_rows_are_offered(
    runtime, client, csrf
):
    data = form(
        csrf, deadline_title="申报截止", deadline_due="2031-06-30T17:00",
        deadline_ladder="5wd 2wd 0d", deadline_rungs="10d、1d", publish_when="at",
        published_at="2031-01-01T09:00",
    )  # fmt: skip
    more = client.post("/console/policies", data={**data, "more_deadlines": "1"})
    assert more.status_code == 200 and more.text.count('name="deadline_title"') == 4
    assert 'value="10d、1d"' in more.text
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []
    answer = client.post("/console/policies", data=data)
    with runtime.sessions() as session:
        policy = policy_store.get(session, published_id(answer))
        assert [d.remind for d in policy.deadlines] == [["10d", "1d"]]
        assert policy.published_at.year == 2031
    now = client.post("/console/policies", data={**data, "ref": "NOW", "publish_when": "now"})
    with runtime.sessions() as session:
        assert policy_store.get(session, published_id(now)).published_at.year < 2031


def test_a_bad_rung_is_refused_naming_the_deadline_in_chinese_and_keeps_the_form(
    runtime, client, csrf
):
    data = form(csrf, deadline_title=["申报截止", "补正"], deadline_rungs=["", "3wd 99d"],
                deadline_due=["2031-06-30T17:00", "2031-07-01T17:00"])  # fmt: skip
    answer = client.post("/console/policies", data=data)
    assert answer.status_code == 400
    error = html.unescape(re.search(r'id="publish-error">([^<]+)<', answer.text).group(1))
    assert error.startswith("第 2 个期限的提醒：") and "99d" in error
    assert 'value="3wd 99d"' in answer.text and 'value="补正"' in answer.text
    with runtime.sessions() as session:
        assert policy_store.list_recent(session) == []


def test_a_refused_form_comes_back_with_its_audience_picked_and_its_deadline_rows(client, csrf):
    """The shared audience pickers and the deadline rows render together on one page."""
    data = form(csrf, regions=[XINQI, "大碶街道"], sizes="small", sectors="C3670",
                deadline_title=["申报截止"], deadline_due=["2031-06-30T17:00"],
                deadline_rungs=["3wd 99d"])  # fmt: skip
    answer = client.post("/console/policies", data=data)
    assert answer.status_code == 400
    page = html.unescape(answer.text)
    assert f'name="regions" value="{XINQI}" checked' in page
    assert 'id="regions" name="regions" value="大碶街道"' in page
    assert 'name="sizes" value="small" checked' in page
    assert 'id="sectors" name="sectors" value="C3670"' in page
    assert 'id="deadline_title_1" name="deadline_title" value="申报截止"' in page
    assert 'value="3wd 99d"' in page and 'id="deadline-3"' in page
    assert 'name="publish_when" value="now" checked' in page


GUIDE = {
    "eligibility": "规上企业\n上年度技改投入超过500万元",
    "materials": "申报表、发票复印件",
    "office_address": "北仑区行政服务中心3楼",
    "apply_url": "https://zwfw.example.gov.cn/apply/1",
    "enquiry_phone": "0574-86781234",
}


def test_the_guide_fields_are_composed_and_a_bad_one_refused_in_chinese_first(
    runtime, client, csrf
):
    page = client.get("/console/policies/new").text
    assert "申报条件" in page and 'name="enquiry_phone"' in page and 'type="tel"' in page
    refused = client.post(
        "/console/policies", data=form(csrf, sectors="C36", **{**GUIDE, "apply_url": "ftp://x.cn/a"})
    )
    assert refused.status_code == 400
    assert "网上办理链接：apply_url: 须为 http(s) 网址" in html.unescape(refused.text)
    assert "北仑区行政服务中心3楼" in refused.text  # the rest of the form kept
    published = client.post("/console/policies", data=form(csrf, sectors="C36", **GUIDE))
    assert published.status_code in (200, 303)
    with runtime.sessions() as session:
        (stored,) = policy_store.list_recent(session)
        assert stored.guide.as_dict() == GUIDE
