"""Approval on every face (issue 18): a send published through the API by staff waits 待审核
with nothing queued; its author is refused on the API and the console alike (403, in Chinese),
through a key they own too; another approver approves it (its deliveries are made) or returns
it, and the author reads the reason in the API's policy and on the console's policy page.
On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from notifier.services.access import users
from notifier.services.access.key_admin import make_key
from notifier.services.delivery.fanout import fan_out
from notifier.store.models import Delivery, Trigger

from support.factories import Enqueued, Firm, acting, policy
from support.web_harness import csrf_of, seed, web_app

AUTHOR = "大碶街道 张科员"
BOSS = "北仑区 王管理员"
APPROVER = "北仑区 李审核员"
PASSWORD = "a password 123"
KEY = "approval-faces-secret-key-0123456789"


class Office:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.app = web_app(runtime)
        self.api = TestClient(self.app)
        context = acting(runtime)
        for name, role in ((AUTHOR, "staff"), (BOSS, "admin"), (APPROVER, "approver")):
            users.add_user(context, name=name, role=role, password=PASSWORD)
        self.keys = {
            name: make_key(context, role=role, name=name, credit_code=None, owner=name).key
            for name, role in ((AUTHOR, "staff"), (BOSS, "admin"), (APPROVER, "approver"))
        }

    def call(self, method: str, path: str, who: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        return self.api.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def publish(self, who: str, **fields) -> dict:
        answer = self.call("POST", "/policies", who, json=policy(**fields))
        assert answer.status_code == 200, answer.text
        return answer.json()

    def console(self, name: str) -> tuple[TestClient, str]:
        client = TestClient(self.app)
        form = client.get("/console/login")
        signed = client.post(
            "/console/login", follow_redirects=False,
            data={"name": name, "password": PASSWORD, "csrf": csrf_of(form.text)},
        )  # fmt: skip
        assert signed.status_code == 303
        return client, csrf_of(client.get("/console/approvals").text)

    def count(self, model) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def office(make_runtime, database_url, monkeypatch):
    monkeypatch.setenv("NOTIFIER_APPROVAL__ENABLED", "true")  # the tests' default is off
    runtime = make_runtime(database_url=database_url, secret_key=KEY)
    seed(runtime, [Firm(n, channels="sms;email") for n in range(1, 61)])
    return Office(runtime)


def test_staff_publishing_through_the_api_waits_and_another_approver_sends_it(office):
    published = office.publish(AUTHOR)
    assert published["held"] and published["trigger_id"] is None
    approval_id = published["approval_id"]
    assert office.count(Trigger) == office.count(Delivery) == 0

    waiting = office.call("GET", "/approvals?status=pending", AUTHOR).json()
    assert [a["id"] for a in waiting] == [approval_id]
    assert waiting[0]["preview"]["firms"] == 60 and waiting[0]["author"] == AUTHOR
    refused = office.call("POST", f"/approvals/{approval_id}/approve", AUTHOR)
    assert refused.status_code == 403
    assert office.call("GET", f"/policies/{published['id']}", AUTHOR).json()["approval"][
        "status"] == "pending"  # fmt: skip

    approved = office.call("POST", f"/approvals/{approval_id}/approve", APPROVER)

    assert approved.status_code == 200, approved.text
    trigger_id = approved.json()["trigger_id"]
    runtime = office.runtime
    assert fan_out(runtime.sessions, Enqueued(), trigger_id,
                   settings=runtime.settings.delivery) == 120  # fmt: skip
    again = office.call("POST", f"/approvals/{approval_id}/return", APPROVER,
                        json={"reason": "晚了"})  # fmt: skip
    assert again.status_code == 409


def test_an_author_is_refused_on_the_api_and_the_console_and_reads_the_reason_when_returned(
    office,
):
    published = office.publish(BOSS, title="管理员自己写的政策")
    approval_id = published["approval_id"]

    by_key = office.call("POST", f"/approvals/{approval_id}/approve", BOSS)
    assert by_key.status_code == 403 and "不能审核自己" in by_key.json()["error"]["reason"]
    client, csrf = office.console(BOSS)
    page = client.get(f"/console/approvals/{approval_id}")
    assert "approve-form" not in page.text and 'id="approval-own"' in page.text
    posted = client.post(f"/console/approvals/{approval_id}/approve", data={"csrf": csrf})
    assert posted.status_code == 403 and "不能审核自己" in posted.text
    assert office.count(Trigger) == 0

    approver, approver_csrf = office.console(APPROVER)
    shown = approver.get(f"/console/approvals/{approval_id}").text
    assert "管理员自己写的政策" in shown and 'id="approval-firms">60<' in shown
    assert "approve-form" in shown and 'id="approval-text-sms"' in shown
    no_reason = approver.post(f"/console/approvals/{approval_id}/return",
                              data={"csrf": approver_csrf, "reason": ""})  # fmt: skip
    assert no_reason.status_code == 400 and "理由" in no_reason.text
    returned = approver.post(
        f"/console/approvals/{approval_id}/return", follow_redirects=False,
        data={"csrf": approver_csrf, "reason": "补助比例写错了"},
    )  # fmt: skip
    assert returned.status_code == 303

    body = office.call("GET", f"/policies/{published['id']}", BOSS).json()
    assert body["held"] and body["approval"] == {
        "id": approval_id, "kind": "publish", "status": "returned", "reason": "补助比例写错了",
        "decided_by": APPROVER,
    }
    policy_page = client.get(f"/console/policies/{published['id']}").text
    assert 'id="approval-state"' in policy_page and "已退回：补助比例写错了" in policy_page
    assert "policy-held" in client.get("/console/policies").text
    assert office.count(Trigger) == office.count(Delivery) == 0
    assert client.get("/console/approvals?status=returned").status_code == 200


def test_only_approvers_and_admins_decide_on_the_api(office):
    published = office.publish(AUTHOR)
    other_staff = make_key(acting(office.runtime), role="staff", name="另一位科员",
                           credit_code=None).key  # fmt: skip
    answer = office.api.post(f"/api/v1/approvals/{published['approval_id']}/approve",
                             headers={"Authorization": f"Bearer {other_staff}"})  # fmt: skip
    assert answer.status_code == 403
