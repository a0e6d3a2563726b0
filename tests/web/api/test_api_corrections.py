"""Corrections over the API: revise a published policy (its history kept, with ``notify`` a
correction to every enterprise it reached), withdraw one not yet published, and see both in
``GET /policies/{id}`` and the audit log. And the stored policy keeps ``targets.credit_codes``:
a policy aimed at one firm reaches that firm only, as its preview said."""

from __future__ import annotations

from notifier.cli.policies import embedded_worker
from notifier.services.delivery.progress import follow

from support.apiclient import OTHER, api_fixture, publish_and_deliver
from support.factories import policy

__all__ = ["api_fixture"]  # fixtures


def test_a_revision_with_notify_sends_a_correction_to_every_enterprise_reached(api):
    published = publish_and_deliver(api, policy(ref="bl-2026-7"))
    policy_id = published["id"]
    reached = api.get("/api/v1/deliveries", params={"policy": policy_id}).json()["items"]
    assert len(reached) == 4  # firm 1 by SMS, email and webhook; firm 3 by email
    revised_file = policy(ref="bl-2026-7", title="汽车零部件技术改造补助申报通知（更正）")
    with embedded_worker(api.runtime):
        response = api.post(
            f"/api/v1/policies/{policy_id}/revise", "staff", params={"notify": "true"},
            json=revised_file,
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["revision"], result["new"], result["changed"]) == (1, True, ["title"])
        state = follow(api.runtime.sessions, result["trigger_id"], show=False, timeout=60)
    assert state.total == 4 and state.counts.get("failed", 0) == 0
    shown = api.get(f"/api/v1/policies/{policy_id}").json()
    assert shown["title"].endswith("（更正）") and shown["ref"] == "bl-2026-7"
    assert [(r["number"], r["changed"]) for r in shown["revisions"]] == [(1, ["title"])]
    assert shown["revisions"][0]["previous"]["title"] == "汽车零部件技术改造补助申报通知"
    entry = api.get("/api/v1/audit", params={"target_type": "policy"}).json()["items"][0]
    assert entry["action"] == "policy.revise" and entry["after"]["notify"] is True
    assert (entry["before"]["title"], entry["after"]["title"]) == (
        "汽车零部件技术改造补助申报通知", revised_file["title"],
    )
    # The same file again: no revision, and the correction is not sent twice.
    again = api.post(
        f"/api/v1/policies/{policy_id}/revise", params={"notify": "true"}, json=revised_file
    ).json()
    assert (again["new"], again["trigger_id"]) == (False, None)


def test_a_revision_whose_ref_is_not_the_policys_is_refused_naming_ref(api):
    published = publish_and_deliver(api, policy(ref="one"))
    other = api.post(f"/api/v1/policies/{published['id']}/revise", json=policy(ref="two"))
    assert other.status_code == 400 and other.json()["error"]["field"] == "ref"
    missing = api.post("/api/v1/policies/999999/revise", json=policy(ref="one"))
    assert missing.status_code == 404
    bad = api.post(f"/api/v1/policies/{published['id']}/revise", json={"ref": "one"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "title"


def test_a_scheduled_policy_is_withdrawn_and_a_published_one_is_not(api):
    later = publish_and_deliver(api, policy(ref="later", published_at="2099-06-01T09:00"))
    withdrawn = api.post(f"/api/v1/policies/{later['id']}/cancel", "staff")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["already"] is False
    assert api.post(f"/api/v1/policies/{later['id']}/cancel").json()["already"] is True
    assert api.get(f"/api/v1/policies/{later['id']}").json()["cancelled_at"]
    now = publish_and_deliver(api, policy(ref="now"))
    refused = api.post(f"/api/v1/policies/{now['id']}/cancel")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "policy"
    assert api.post("/api/v1/policies/999999/cancel").status_code == 404
    cancels = [
        e for e in api.get("/api/v1/audit").json()["items"] if e["action"] == "policy.cancel"
    ]
    assert len(cancels) == 1 and cancels[0]["after"]["cancelled_at"]
    revise = api.post(f"/api/v1/policies/{later['id']}/revise", json=policy(ref="later"))
    assert revise.status_code == 400 and revise.json()["error"]["field"] == "ref"


def test_a_policy_aimed_at_one_credit_code_reaches_exactly_that_firm_as_previewed(api):
    aimed = policy(ref="one-firm", targets={"credit_codes": [OTHER]})
    preview = api.post("/api/v1/policies/preview", json=aimed).json()
    published = publish_and_deliver(api, aimed)
    reached = api.get("/api/v1/deliveries", params={"policy": published["id"]}).json()["items"]
    assert {d["credit_code"] for d in reached} == {OTHER}
    assert len(reached) == preview["deliveries"] == 3  # firm 2: SMS, email and webhook
    shown = api.get(f"/api/v1/policies/{published['id']}")
    assert shown.status_code == 200, shown.text
    shown = shown.json()
    assert shown["targets"]["credit_codes"] == [OTHER]
