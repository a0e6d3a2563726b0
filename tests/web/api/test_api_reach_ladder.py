"""A policy's reach ladder over the API: taken in words or as working days, shown as working
days (null: the setting), changed by a revision, and a bad one refused naming the field."""

from __future__ import annotations

from support.apiclient import api_fixture
from support.factories import policy

__all__ = ["api_fixture"]  # fixtures


def test_the_ladder_round_trips_and_a_change_is_a_revision(api):
    published = api.post(
        "/api/v1/policies",
        "staff",
        json=policy(ref="ladder-1", reach_ladder="5个工作日、2个工作日"),
    )
    assert published.status_code == 200, published.text
    policy_id = published.json()["id"]
    assert api.get(f"/api/v1/policies/{policy_id}").json()["reach_ladder"] == [2, 5]
    revised = api.post(
        f"/api/v1/policies/{policy_id}/revise",
        "staff",
        json=policy(ref="ladder-1", reach_ladder=[]),
    ).json()
    assert (revised["new"], revised["changed"]) == (True, ["reach_ladder"])
    shown = api.get(f"/api/v1/policies/{policy_id}").json()
    assert shown["reach_ladder"] == [] and shown["revisions"][0]["changed_words"] == ["再次发送"]
    other = api.post("/api/v1/policies", "staff", json=policy(ref="ladder-2", title="另一项"))
    assert api.get(f"/api/v1/policies/{other.json()['id']}").json()["reach_ladder"] is None


def test_a_bad_ladder_is_refused_naming_the_field(api):
    answer = api.post("/api/v1/policies", "staff", json=policy(reach_ladder=["3天"]))
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "reach_ladder"
