"""A district of two communities for scope tests: firms, deliveries, follow-ups, a policy with
reach, a campaign of each community, and a user (with a key) of every role.

灵峰工业社区 (``REGION``) holds firms 1 and 3, 新碶工业社区 (``ELSEWHERE``) firms 5 and 8; the
names say which ("灵峰甲…", "新碶乙…"), so a response can be searched for the other's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from notifier.domain.reach import CallOutcome
from notifier.domain.time_source import ManualTime
from notifier.inputs.firm_answers import Question
from notifier.runtime import Runtime
from notifier.services.access.api_keys import add_key
from notifier.services.access.users import add_user
from notifier.services.communities import operations as communities
from notifier.services.reach import calls, events
from notifier.store.models import Approval
from notifier.web.app import create_app

from support.factories import REGION, Firm, acting, credit_code, enter_plain_years
from support.reach import ELSEWHERE, MONDAY, THURSDAY, firm_id, publish_and_send
from support.web_harness import seed

A_FIRMS = (1, 3)
B_FIRMS = (5, 8)
NAMES = {1: "灵峰甲一有限公司", 3: "灵峰甲三有限公司", 5: "新碶乙五有限公司", 8: "新碶乙八有限公司"}
DEPARTMENT = "北仑区经济和信息化局"
OTHER_DEPARTMENT = "北仑区商务局"
PASSWORD = "correct horse battery"
CAMPAIGN = {
    "title": "技术改造补助申报提醒",
    "channels": ["短信"],
    "targets": {"sectors": ["C36"]},
    "templates": {"sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}"}},
    "schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Shanghai"},
}


def marks(numbers: tuple[int, ...]) -> list[str]:
    """What of these firms a response must not hold: their names and credit codes."""
    return [NAMES[n] for n in numbers] + [credit_code(n) for n in numbers]


@dataclass
class District:
    """The runtime, the app's client, a key per actor and the ids tests fill paths with."""

    runtime: Runtime
    client: TestClient
    keys: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)

    def request(self, method: str, path: str, actor: str, **kwargs: Any):
        headers = {"Authorization": f"Bearer {self.keys[actor]}"}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, actor: str, **kwargs: Any):
        return self.request("GET", path, actor, **kwargs)


def _people(runtime: Runtime) -> dict[str, str]:
    """A user of every role (staff of each community, a publisher of ``DEPARTMENT``, an
    approver, an admin), each with a key of their own, and an enterprise key (firm 1's)."""
    context = acting(runtime)
    communities.add_community(context, "灵峰工业社区", [REGION])
    communities.add_community(context, "新碶工业社区", [ELSEWHERE])
    communities.add_department(context, DEPARTMENT)
    people = {
        "admin": {"role": "admin"},
        "staff_a": {"role": "staff", "community": "灵峰工业社区"},
        "staff_b": {"role": "staff", "community": "新碶工业社区"},
        "district": {"role": "staff"},
        "publisher": {"role": "publisher", "department": DEPARTMENT},
        "approver": {"role": "approver"},
    }
    for name, given in people.items():
        add_user(context, name=name, password=PASSWORD, **given)
    secret = runtime.settings.secret_key.get_secret_value()
    keys = {}
    with runtime.sessions.begin() as session:
        now = runtime.time_source.now()
        for name, given in people.items():
            keys[name] = add_key(
                session, role=given["role"], name=name, credit_code=None, secret=secret,
                now=now, owner=name,
            ).key  # fmt: skip
        keys["enterprise"] = add_key(
            session, role="enterprise", name="firm 1", credit_code=credit_code(1),
            secret=secret, now=now,
        ).key  # fmt: skip
    return keys


def build_district(make_runtime, database_url: str) -> District:
    """The district, on the runtime's clock: policies published on Monday, read on Thursday
    (the follow-up window passed)."""
    clock = ManualTime(MONDAY)
    runtime = make_runtime(database_url=database_url, time_source=clock)
    seed(
        runtime,
        [Firm(1, name=NAMES[1]), Firm(3, name=NAMES[3]),
         Firm(5, name=NAMES[5], region=ELSEWHERE), Firm(8, name=NAMES[8], region=ELSEWHERE)],
    )  # fmt: skip
    enter_plain_years(runtime, 2031)
    near = publish_and_send(
        runtime, ref="near", deadlines=[{"title": "申报截止", "due_at": "2031-03-10"}]
    )
    trade = publish_and_send(runtime, ref="trade", title="外贸补贴", department=OTHER_DEPARTMENT)
    context = acting(runtime)
    for number in (1, 5):
        events.ask(context, near, firm_id(runtime, number), Question("可以申报吗？", "13800001234"))
    calls.log_call(context, near, firm_id(runtime, 5), CallOutcome.INFORMED, "乙方已告知")
    clock.set(THURSDAY)
    keys = _people(runtime)
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    district = District(runtime=runtime, client=client, keys=keys)
    admin = "admin"
    deadlines = district.get("/api/v1/deadlines", admin).json()
    own = district.get(f"/api/v1/deliveries?enterprise={credit_code(1)}", admin).json()["items"]
    other = district.get(f"/api/v1/deliveries?enterprise={credit_code(5)}", admin).json()["items"]
    campaigns = {}
    for actor in ("staff_a", "staff_b"):
        made = district.request(
            "POST", "/api/v1/campaigns", actor, json={**CAMPAIGN, "name": f"提醒-{actor}"}
        )
        assert made.status_code == 201, made.text
        campaigns[actor] = made.json()["id"]
    approvals = _approval_requests(runtime, campaigns)
    district.ids.update(
        policy=near, trade=trade, deadline=deadlines[0]["id"], own_delivery=own[0]["id"],
        other_delivery=other[0]["id"], own_campaign=campaigns["staff_a"],
        other_campaign=campaigns["staff_b"], own_approval=approvals["staff_a"],
        other_approval=approvals["staff_b"],
    )  # fmt: skip
    return district


def _approval_requests(runtime: Runtime, campaigns: dict[str, int]) -> dict[str, int]:
    """A request waiting for approval from each community's clerk (their campaign), its frozen
    sample text naming a firm of their community."""
    sample = {"staff_a": NAMES[1], "staff_b": NAMES[5]}
    made = {}
    with runtime.sessions.begin() as session:
        for actor, campaign_id in campaigns.items():
            request = Approval(
                kind="campaign", campaign_id=campaign_id, author=actor, author_role="staff",
                requested_at=runtime.time_source.now(), rules=["campaigns"],
                preview={
                    "title": "申报提醒", "name": f"提醒-{actor}", "firms": 2,
                    "recipients": {"sms": 2}, "deliveries": 2, "warnings": [],
                    "sms": {"parts": 2, "estimated": True, "cost_yuan": 0.1},
                    "renderings": {"sms": {
                        "credit_code": "", "text": f"{sample[actor]}：提醒", "subject": None,
                        "sms_length": 10, "sms_parts": 1, "error": None,
                    }},
                },
            )  # fmt: skip
            session.add(request)
            session.flush()
            made[actor] = request.id
    return made
