"""A region given by its last segments (``大碶街道``, ``北仑区/大碶街道``) is the one full path of
the register that ends so, for the API's policies and campaigns as for the console; a name
that ends several is refused naming them, one that ends none is refused naming the field."""

from __future__ import annotations

from support.apiclient import api_fixture
from support.factories import Firm, enterprise_csv, policy

__all__ = ["api_fixture"]  # fixtures

DAQI = "浙江省/宁波市/北仑区/大碶街道"  # the factories' firms are in 大碶街道/灵峰工业社区

CAMPAIGN = {
    "name": "short-region",
    "title": "技术改造补助申报提醒",
    "channels": ["sms"],
    "targets": {"regions": ["灵峰工业社区"]},
    "templates": {"sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}"}},
    "schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Shanghai"},
}


def _publish(api, *regions: str):
    return api.post("/api/v1/policies", json=policy(targets={"regions": list(regions)}))


def test_a_short_region_is_stored_as_its_full_path(api):
    for typed in ("大碶街道", "北仑区/大碶街道"):
        preview = api.post("/api/v1/policies/preview", json=policy(targets={"regions": [typed]}))
        assert preview.status_code == 200 and preview.json()["enterprises"] == 3
    published = _publish(api, "北仑区/大碶街道")
    assert published.status_code == 200, published.text
    shown = api.get(f"/api/v1/policies/{published.json()['id']}").json()
    assert shown["targets"]["regions"] == [DAQI]
    made = api.post("/api/v1/campaigns", "staff", json=CAMPAIGN)
    assert made.status_code == 201, made.text
    (campaign,) = [c for c in api.get("/api/v1/campaigns").json() if c["name"] == "short-region"]
    assert campaign["audience"]["regions"] == [f"{DAQI}/灵峰工业社区"]


def test_a_name_that_ends_two_regions_is_refused_naming_both(api):
    other = "浙江省/宁波市/镇海区/大碶街道/某社区"
    upload = enterprise_csv([Firm(7, region=other)]).encode("utf-8")
    imported = api.post("/api/v1/enterprises/import", files={"file": ("f.csv", upload, "text/csv")})
    assert imported.status_code == 200
    refused = _publish(api, "大碶街道")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["field"] == "targets.regions"
    assert error["reason"].startswith("targets.regions: 地区“大碶街道”不唯一")
    assert DAQI in error["reason"] and "浙江省/宁波市/镇海区/大碶街道" in error["reason"]
    assert "matches 2 regions" in error["reason"]
    assert _publish(api, "北仑区/大碶街道").status_code == 200  # its parent settles it
    ambiguous = {**CAMPAIGN, "targets": {"regions": ["大碶街道"]}}
    campaign = api.post("/api/v1/campaigns", json=ambiguous)
    assert campaign.status_code == 400 and campaign.json()["error"]["field"] == "targets.regions"


def test_a_region_the_register_does_not_hold_is_refused_naming_the_field(api):
    refused = _publish(api, "霞浦街道")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["field"] == "targets.regions"
    assert error["reason"].startswith("targets.regions: 地区“霞浦街道”不在企业名录的地区中")
    assert "not a region of the register" in error["reason"]
    assert api.get("/api/v1/policies").json() == []  # nothing stored
