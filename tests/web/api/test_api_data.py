"""The API over the data: imports with the CLI's row report, listings with filters and cursors,
formula-safe exports, the audit log, an enterprise's own subscriptions, health and metrics."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from notifier.inputs.enterprise_csv import HEADER

from support.apiclient import OTHER, OWN, api_fixture, api_park_fixture, make_api, xlsx_bytes  # noqa: F401 - fixtures
from support.factories import Firm, credit_code, enterprise_csv


def _upload(api, name: str, content: bytes, **params):
    return api.post("/api/v1/enterprises/import", files={"file": (name, content)}, params=params)


def test_a_csv_upload_keeps_the_good_rows_and_reports_the_bad_ones_like_the_cli(api):
    bad = Firm(11).row()
    bad[0] = "91330206MA2000011X"  # wrong check character
    text = enterprise_csv([Firm(10), Firm(12, size="巨型")], extra_rows=[bad])
    report = _upload(api, "register.csv", text.encode("gb18030")).json()
    assert (report["created"], report["updated"], report["bad_rows"]) == (1, 0, 2)
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (3, "size"),
        (4, "credit_code"),
    }
    codes = [e["credit_code"] for e in api.get("/api/v1/enterprises").json()["items"]]
    assert credit_code(10) in codes and credit_code(12) not in codes


def test_an_xlsx_upload_is_read_as_the_csv_is_and_a_dry_run_stores_nothing(api):
    good = Firm(20).row()
    good[5] = int(good[5])  # a phone typed as a number in Excel
    rows = [list(HEADER), good, Firm(21, channels="传真").row()]
    dry = _upload(api, "register.xlsx", xlsx_bytes(rows), dry_run="true").json()
    assert (dry["dry_run"], dry["created"], dry["bad_rows"]) == (True, 1, 1)
    assert dry["errors"][0]["row"] == 3 and dry["errors"][0]["field"] == "channels"
    assert api.get(f"/api/v1/enterprises/{credit_code(20)}").status_code == 404
    done = _upload(api, "register.xlsx", xlsx_bytes(rows)).json()
    assert done["created"] == 1
    shown = api.get(f"/api/v1/enterprises/{credit_code(20)}").json()
    assert shown["contacts"]["sms"] == ["+8613800000020"]
    assert _upload(api, "register.xlsx", b"not a zip").status_code == 400


def test_enterprises_are_listed_with_filters_a_page_at_a_time(api):
    first = api.get("/api/v1/enterprises", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"] == first["items"][-1]["credit_code"]
    rest = api.get("/api/v1/enterprises", params={"limit": 2, "cursor": first["next"]}).json()
    assert [e["credit_code"] for e in rest["items"]] == [credit_code(3)] and rest["next"] is None
    assert [
        e["credit_code"]
        for e in api.get("/api/v1/enterprises", params={"sector": "C26"}).json()["items"]
    ] == [OTHER]
    webhook = api.get("/api/v1/enterprises", params={"channel": "webhook", "size": "小型"}).json()
    assert [e["credit_code"] for e in webhook["items"]] == [OWN, OTHER]
    assert len(api.get("/api/v1/enterprises", params={"q": "测试企业3"}).json()["items"]) == 1
    assert api.get("/api/v1/enterprises", params={"sector": "Z99"}).status_code == 400


def test_an_enterprise_is_created_and_updated_as_an_import_row_and_audited(api):
    body = {
        "credit_code": credit_code(30),
        "name": '=HYPERLINK("http://x")',
        "sectors": ["C3670"],
        "region": "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区",
        "size": "小型",
        "phone": "13800000030",
        "channels": ["短信"],
    }
    made = api.post("/api/v1/enterprises", json=body, role="staff")
    assert made.status_code == 200 and made.json()["created"] is True
    changed = api.put(
        f"/api/v1/enterprises/{credit_code(30)}", json={**body, "size": "微型"}, role="staff"
    )
    assert changed.json()["enterprise"]["size"] == "micro"
    bad = api.post("/api/v1/enterprises", json={**body, "phone": "12"}, role="staff")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "phone"
    missing = api.put(
        f"/api/v1/enterprises/{credit_code(31)}", json={**body, "credit_code": credit_code(31)}
    )
    assert missing.status_code == 404
    entries = api.get("/api/v1/audit", params={"target_type": "enterprise"}).json()["items"]
    update = next(e for e in entries if e["action"] == "enterprise.update")
    assert update["actor_role"] == "staff" and update["actor_prefix"].startswith("ntf_")
    assert update["before"]["size"] == "small" and update["after"]["size"] == "micro"
    created = next(e for e in entries if e["action"] == "enterprise.save")
    assert created["before"] is None and created["after"]["name"] == body["name"]


def test_deliveries_page_by_cursor_and_filter_by_status_channel_enterprise_and_time(
    api_park,
):
    api = api_park
    everything = api.get("/api/v1/deliveries", params={"limit": 100}).json()["items"]
    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/deliveries", params=params).json()
        pages += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    assert [d["id"] for d in pages] == [d["id"] for d in everything]
    sms = api.get("/api/v1/deliveries", params={"channel": "sms", "status": "sent"}).json()
    assert sms["items"] and {d["channel"] for d in sms["items"]} == {"sms"}
    later = api.get("/api/v1/deliveries", params={"from": "2099-01-01T00:00"}).json()
    assert later["items"] == []
    earlier = api.get("/api/v1/deliveries", params={"to": "2099-01-01"}).json()
    assert len(earlier["items"]) == len(everything)
    trigger = everything[0]["trigger"]
    one = api.get(f"/api/v1/deliveries/{everything[0]['id']}").json()
    assert one["trigger"] == trigger and one["history"][0]["outcome"] == "sent"


def test_the_xlsx_export_keeps_a_formula_as_text(api_park):
    api = api_park
    body = Firm(1).row()
    record = dict(zip(HEADER, body, strict=False))
    record.update(name="=1+1", sectors=["C3670"], topics=[], tags=[], channels=["sms"])
    api.post("/api/v1/enterprises", json=record)
    response = api.get("/api/v1/deliveries/export", params={"format": "xlsx", "enterprise": OWN})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    names = [row[header.index("enterprise")] for row in rows[1:]]
    assert names and all(c.value == "=1+1" and c.data_type == "s" for c in names)
    csv_text = api.get("/api/v1/deliveries/export", params={"enterprise": OWN}).text
    assert csv_text.startswith("\ufeffid,") and "'=1+1" in csv_text


def test_deadline_moves_and_cancels_are_audited_with_before_and_after(api_park):
    api = api_park
    deadline = api.ids["deadline"]
    moved = api.post(f"/api/v1/deadlines/{deadline}/move", json={"due_at": "2099-10-15"})
    assert moved.status_code == 200 and moved.json()["due_at"].startswith("2099-10-15T23:59:59")
    assert (
        api.post(f"/api/v1/deadlines/{deadline}/move", json={"due_at": "2000-01-01"}).json()[
            "error"
        ]["field"]
        == "due_at"
    )
    assert api.post(f"/api/v1/deadlines/{deadline}/cancel", role="staff").status_code == 200
    again = api.post(f"/api/v1/deadlines/{deadline}/move", json={"due_at": "2099-10-16"})
    assert again.status_code == 409
    assert api.post("/api/v1/deadlines/999999/cancel").status_code == 404
    entries = api.get("/api/v1/audit", params={"target_type": "deadline"}).json()["items"]
    cancel, move = entries[0], entries[1]
    assert (cancel["action"], cancel["before"]["cancelled"], cancel["after"]["cancelled"]) == (
        "deadline.cancel",
        False,
        True,
    )
    assert move["before"]["due_at"].startswith("2099-12-31")
    assert move["after"]["due_at"].startswith("2099-10-15")


def test_an_enterprise_chooses_its_own_channels_and_topics(api):
    mine = api.get("/api/v1/me/subscriptions", "enterprise").json()
    assert mine["channels"] == ["email", "sms", "webhook"]
    changed = api.put(
        "/api/v1/me/subscriptions", "enterprise", json={"channels": ["邮件"], "topics": ["补贴"]}
    ).json()
    assert changed == {"channels": ["email"], "available": mine["available"], "topics": ["补贴"]}
    refused = api.put("/api/v1/me/subscriptions", "enterprise", json={"channels": ["fax"]})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "channels"
    listed = api.get("/api/v1/enterprises", params={"q": OWN}).json()["items"][0]
    assert listed["subscribed"] == ["email"] and listed["topics"] == ["补贴"]


def test_health_and_metrics_answer_without_a_key(api_park):
    api = api_park
    health = api.get("/healthz", role=None)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "broker": "embedded"}
    api.get("/api/v1/deliveries", role=None)
    text = api.get("/metrics", role=None).text
    assert 'notifier_deliveries{channel="sms",status="sent"}' in text
    assert 'notifier_http_requests_total{method="GET",route="/deliveries",status="401"}' in text


def test_health_says_503_when_the_broker_is_down(database_url, make_runtime):
    api = make_api(make_runtime(database_url=database_url, broker_url="redis://127.0.0.1:1/0"))
    health = api.get("/healthz", role=None)
    assert health.status_code == 503 and health.json()["broker"] == "unreachable"
