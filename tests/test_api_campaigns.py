"""Campaigns and templates over the API, as staff would use them: create a campaign, preview it
for one enterprise (each channel's text, SMS length and billed parts), send a test, let the
clock make a run, follow its progress, pause, resume and cancel it; save templates and see a
bad one refused naming the field. Every change is in the audit log."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.domain.time_source import ManualTime
from notifier.jobs.clock import scan_campaign_runs
from notifier.services.delivery.fanout import fan_out

from apiclient import OTHER, OWN, api_fixture, make_api
from factories import Enqueued

__all__ = ["api_fixture"]  # fixtures

SHANGHAI = ZoneInfo("Asia/Shanghai")

CAMPAIGN = {
    "name": "tech-upgrade",
    "title": "技术改造补助申报提醒",
    "channels": ["短信", "email"],
    "targets": {"sectors": ["C36"]},
    "templates": {
        "sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}，{{ run.date }}"},
        "email": {"subject": "{{ campaign.title }}", "body": "{{ enterprise.name }}，您好。"},
    },
    "schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Shanghai"},
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_campaign_is_created_previewed_run_followed_paused_resumed_and_cancelled(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-11-29 12:00"))  # a Sunday
    api = make_api(make_runtime(database_url=database_url, time_source=time_source))
    made = api.post("/api/v1/campaigns", "staff", json=CAMPAIGN)
    assert made.status_code == 201, made.text
    campaign = made.json()["id"]
    assert made.json()["status"] == "scheduled"
    listed = api.get("/api/v1/campaigns", "staff").json()
    assert [(c["id"], c["channels"]) for c in listed] == [(campaign, ["sms", "email"])]

    preview = api.get(f"/api/v1/campaigns/{campaign}/preview", "staff", params={"enterprise": OWN})
    assert preview.status_code == 200, preview.text
    sms = preview.json()["sms"]
    assert "测试企业1有限公司：技术改造补助申报提醒，2026-11-29" in sms["text"]
    assert sms["sms_length"] == len(sms["text"]) and sms["sms_parts"] == 1
    assert preview.json()["email"]["subject"] == "技术改造补助申报提醒"
    unknown = api.get(f"/api/v1/campaigns/{campaign}/preview", params={"enterprise": "nope"})
    assert unknown.status_code in (400, 404) and unknown.json()["error"]["reason"]

    sent = api.post(
        f"/api/v1/campaigns/{campaign}/test-send", json={"channel": "短信", "to": "13800009999"}
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["channel"] == "sms" and sent.json()["provider"]
    refused = api.post(
        f"/api/v1/campaigns/{campaign}/test-send", json={"channel": "webhook", "to": "x"}
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "channel"

    # Monday 09:00: the clock makes the run; its deliveries are queued, none sent yet.
    assert api.get(f"/api/v1/campaigns/{campaign}/progress").json()["current"] is None
    time_source.set(at("2026-11-30 09:00:30"))
    (run,) = scan_campaign_runs(api.runtime)
    fan_out(api.runtime.sessions, Enqueued(), run, settings=api.runtime.settings.delivery)
    progress = api.get(f"/api/v1/campaigns/{campaign}/progress", "staff").json()
    # Firm 1 (C3670) by SMS and email, firm 3 (C3670, email only) by email: three.
    assert progress["current"]["trigger_id"] == run
    assert progress["current"]["counts"] == {"queued": 3} and progress["current"]["left"] == 3
    shown = api.get(f"/api/v1/campaigns/{campaign}").json()
    assert [r["trigger_id"] for r in shown["runs"]] == [run]
    assert {"rate_per_minute", "eta_seconds"} <= set(shown["runs"][0])

    paused = api.post(f"/api/v1/campaigns/{campaign}/pause", "staff").json()
    assert (paused["status"], paused["deliveries"]) == ("paused", 3)
    resumed = api.post(f"/api/v1/campaigns/{campaign}/resume", "staff").json()
    assert (resumed["status"], resumed["deliveries"]) == ("running", 3)
    cancelled = api.post(f"/api/v1/campaigns/{campaign}/cancel", "staff").json()
    assert (cancelled["status"], cancelled["deliveries"]) == ("cancelled", 3)
    latest = api.get(f"/api/v1/campaigns/{campaign}/progress").json()["latest"]
    assert latest["counts"] == {"cancelled": 3} and latest["left"] == 0
    again = api.post(f"/api/v1/campaigns/{campaign}/resume")
    assert again.status_code in (400, 409) and again.json()["error"]["reason"]

    actions = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    for action in ("campaign.create", "campaign.test_send", "campaign.pause",
                   "campaign.resume", "campaign.cancel"):
        assert action in actions
    assert api.get("/api/v1/campaigns/999999").status_code == 404


def test_a_bad_campaign_body_is_refused_naming_the_field_and_nothing_is_made(api):
    bad = api.post("/api/v1/campaigns", json={**CAMPAIGN, "channels": ["fax"]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "channels"
    server_file = api.post("/api/v1/campaigns", json={**CAMPAIGN, "credit_codes_file": "/etc/x"})
    assert server_file.status_code == 400
    assert server_file.json()["error"]["field"] == "credit_codes_file"
    listed = api.post("/api/v1/campaigns", json={**CAMPAIGN, "targets": {"credit_codes": [OTHER]}})
    assert listed.status_code == 201
    assert [c["name"] for c in api.get("/api/v1/campaigns").json()] == ["tech-upgrade"]


def test_templates_are_saved_as_versions_refused_naming_the_field_and_audited(api):
    path = "/api/v1/templates/申报提醒/短信"
    first = api.put(path, "staff", json={"body": "{{ enterprise.name }}：请及时申报"})
    assert first.status_code == 200, first.text
    assert (first.json()["channel"], first.json()["version"], first.json()["changed"]) == (
        "sms", 1, True,
    )
    same = api.put(path, json={"body": "{{ enterprise.name }}：请及时申报"}).json()
    assert (same["version"], same["changed"]) == (1, False)
    second = api.put(path, json={"body": "{{ enterprise.name }}：请于月底前申报", "author": "王"})
    assert second.json()["version"] == 2
    typo = api.put(path, json={"body": "{{ enterprise.nme }}"})
    assert typo.status_code == 400 and typo.json()["error"]["field"] == "body"
    assert "enterprise.name" in typo.json()["error"]["reason"]
    no_subject = api.put("/api/v1/templates/申报提醒/email", json={"body": "您好"})
    assert no_subject.status_code == 400 and no_subject.json()["error"]["field"] == "subject"
    fax = api.put("/api/v1/templates/申报提醒/fax", json={"body": "x"})
    assert fax.status_code == 400 and fax.json()["error"]["field"] == "channel"

    listed = api.get("/api/v1/templates", "staff").json()
    assert [(t["name"], t["version"]) for t in listed] == [("申报提醒", 2)]
    shown = api.get("/api/v1/templates/申报提醒").json()
    assert [(t["channel"], t["versions"]) for t in shown] == [("sms", [1, 2])]
    older = api.get("/api/v1/templates/申报提醒", params={"version": 1}).json()
    assert older[0]["body"] == "{{ enterprise.name }}：请及时申报"
    assert api.get("/api/v1/templates/没有这个").status_code == 404
    names = [v["name"] for v in api.get("/api/v1/templates/variables").json()]
    assert "enterprise.name" in names

    saves = api.get("/api/v1/audit", params={"target_type": "template"}).json()["items"]
    assert [e["after"]["version"] for e in saves] == [2, 1]
    assert saves[0]["before"]["version"] == 1
