"""A policy's guide fields over the API: published, shown, corrected as a revision like the
summary, and a bad address or phone refused naming the field."""

from __future__ import annotations

from support.apiclient import api_fixture
from support.factories import policy

__all__ = ["api_fixture"]  # fixtures

GUIDE = {
    "eligibility": "规上企业",
    "materials": "申报表、发票复印件",
    "office_address": "北仑区行政服务中心3楼",
    "apply_url": "https://zwfw.example.gov.cn/apply/1",
    "enquiry_phone": "0574-86781234",
}


def test_the_guide_fields_round_trip_and_a_change_is_a_revision(api):
    published = api.post("/api/v1/policies", "staff", json=policy(ref="guide-1", **GUIDE))
    assert published.status_code == 200, published.text
    policy_id = published.json()["id"]
    shown = api.get(f"/api/v1/policies/{policy_id}").json()
    assert {name: shown[name] for name in GUIDE} == GUIDE
    changed = dict(GUIDE, materials="申报表、发票复印件、营业执照")
    revised = api.post(
        f"/api/v1/policies/{policy_id}/revise", "staff", json=policy(ref="guide-1", **changed)
    ).json()
    assert (revised["new"], revised["changed"]) == (True, ["materials"])
    shown = api.get(f"/api/v1/policies/{policy_id}").json()
    assert shown["materials"] == "申报表、发票复印件、营业执照"
    assert shown["revisions"][0]["changed_words"] == ["所需材料"]
    assert shown["revisions"][0]["previous"]["materials"] == "申报表、发票复印件"


def test_a_bad_apply_url_or_phone_is_refused_naming_the_field(api):
    for changes, field in (
        ({"apply_url": "javascript:alert(1)"}, "apply_url"),
        ({"enquiry_phone": "not a phone"}, "enquiry_phone"),
    ):
        answer = api.post("/api/v1/policies", "staff", json=policy(**changes))
        assert answer.status_code == 400
        assert answer.json()["error"]["field"] == field


def test_the_openapi_schema_lists_the_guide_fields(api):
    schema = api.get("/api/openapi.json", None).json()
    text = str(schema)
    for name in GUIDE:
        assert name in text
