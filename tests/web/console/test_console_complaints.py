"""The console's complaints page (投诉与退订, admins): the month's complaint and opt-out rates in
Chinese, and a complaint logged by credit code (audited, kept); a bad firm is refused naming
the field, and staff cannot open the page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.store.models import AuditEntry, Complaint

from support.factories import Firm, credit_code
from support.web_harness import make_key, seed, signed_in, web_app


@pytest.fixture
def runtime(make_runtime, database_url):
    runtime = make_runtime(database_url=database_url)
    seed(runtime, [Firm(1, channels="sms")])
    return runtime


def admin(runtime) -> TestClient:
    client = TestClient(web_app(runtime))
    client.headers["x-test-csrf"] = signed_in(client, make_key(runtime, "admin"))
    return client


def test_an_admin_logs_a_complaint_and_sees_it_in_the_months_figures(runtime):
    client = admin(runtime)
    page = client.get("/console/complaints")
    assert page.status_code == 200
    assert "投诉与退订" in page.text and "投诉率（每千条）" in page.text

    refused = client.post("/console/complaints", data={
        "csrf": client.headers["x-test-csrf"], "firm": "91330206000000000X", "text": "短信太多"})
    assert refused.status_code == 400
    assert "没有这家企业" in refused.text and "短信太多" in refused.text  # the form is kept

    form = {"csrf": client.headers["x-test-csrf"], "firm": credit_code(1),
            "text": "电话投诉：短信太多"}
    logged = client.post("/console/complaints", data=form, follow_redirects=False)
    assert logged.status_code == 303
    after = client.get(logged.headers["location"])
    assert "已记录投诉" in after.text
    with runtime.sessions() as session:
        [kept] = session.scalars(select(Complaint)).all()
        assert (kept.source, kept.text) == ("staff", "电话投诉：短信太多")
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "complaint.log" in actions
    rows = [line for line in after.text.splitlines() if 'id="month-' in line]
    assert rows and "<td>1</td>" in after.text.split('id="month-', 1)[1].split("</tr>", 1)[0]


def test_staff_cannot_open_the_complaints_page(runtime):
    client = TestClient(web_app(runtime))
    signed_in(client, make_key(runtime, "staff"))
    assert client.get("/console/complaints").status_code in (403, 404)
