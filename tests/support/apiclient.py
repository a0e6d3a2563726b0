"""The HTTP API under test: a runtime on the test's database, the app over it, one key per role,
and a small park with deliveries, all made through the API as a user would."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from notifier.cli.policies import embedded_worker
from notifier.runtime import Runtime
from notifier.services.access.api_keys import create_key
from notifier.services.delivery.progress import follow
from notifier.web.app import create_app

from support.factories import Firm, credit_code, enter_plain_years, enterprise_csv, policy

OWN = credit_code(1)  # the enterprise key's own enterprise
OTHER = credit_code(2)  # another enterprise: an enterprise key may see nothing of it


@dataclass
class Api:
    """A test client with a key per role."""

    client: TestClient
    runtime: Runtime
    keys: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"} if role else {}

    def request(self, method: str, path: str, role: str | None = "admin", **kwargs: Any):
        headers = {**self.headers(role), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, role: str | None = "admin", **kwargs: Any):
        return self.request("GET", path, role, **kwargs)

    def post(self, path: str, role: str | None = "admin", **kwargs: Any):
        return self.request("POST", path, role, **kwargs)

    def put(self, path: str, role: str | None = "admin", **kwargs: Any):
        return self.request("PUT", path, role, **kwargs)

    def key(self, role: str, credit: str | None = None, name: str = "test") -> str:
        secret = self.runtime.settings.secret_key.get_secret_value()
        return create_key(
            self.runtime.sessions,
            role=role,
            name=name,
            credit_code=credit,
            secret=secret,
            time_source=self.runtime.time_source,
        ).key


def make_api(runtime: Runtime) -> Api:
    """The app over ``runtime`` with an admin, a staff, a publisher, an approver and an
    enterprise key (firm 1's)."""
    api = Api(TestClient(create_app(runtime), raise_server_exceptions=False), runtime, {})
    firms = enterprise_csv([Firm(1), Firm(2, sectors="C2614"), Firm(3, channels="email")])
    api.keys["admin"] = api.key("admin")
    upload = {"file": ("firms.csv", firms.encode("utf-8"), "text/csv")}
    assert api.post("/api/v1/enterprises/import", files=upload).status_code == 200
    api.keys["staff"] = api.key("staff")
    api.keys["enterprise"] = api.key("enterprise", OWN)
    api.keys["publisher"] = api.key("publisher")
    api.keys["approver"] = api.key("approver")
    return api


def publish_and_deliver(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """Publish through the API and deliver in this process, as `notifier run` would."""
    with embedded_worker(api.runtime):
        response = api.post("/api/v1/policies", json=body)
        assert response.status_code == 200, response.text
        result = response.json()
        if result["trigger_id"]:
            follow(api.runtime.sessions, result["trigger_id"], show=False, timeout=60)
    return result


def park(api: Api) -> Api:
    """Two policies with a deadline each: one to C36 (firms 1 and 3), one to C26 (firm 2)."""
    enter_plain_years(api.runtime, 2099)  # the deadlines' far year, worked Monday to Friday
    first = publish_and_deliver(
        api,
        policy(
            ref="all",
            deadlines=[{"title": "申报截止", "due_at": "2099-12-31", "remind": ["1wd"]}],
        ),
    )
    second = publish_and_deliver(
        api,
        policy(
            ref="other-only",
            title="只给二号企业",
            targets={"sectors": ["C26"]},
            deadlines=[{"title": "另一个截止", "due_at": "2099-11-30"}],
        ),
    )
    deadlines = api.get("/api/v1/deadlines").json()
    by_title = {d["title"]: d["id"] for d in deadlines}
    others = api.get("/api/v1/deliveries", params={"enterprise": OTHER}).json()["items"]
    owns = api.get("/api/v1/deliveries", params={"enterprise": OWN}).json()["items"]
    api.ids.update(
        policy=first["id"],
        other_policy=second["id"],
        deadline=by_title["申报截止"],
        other_deadline=by_title["另一个截止"],
        other_delivery=others[0]["id"],
        own_delivery=owns[0]["id"],
    )
    return api


@pytest.fixture(name="api")
def api_fixture(database_url, make_runtime) -> Api:
    """The API on SQLite and PostgreSQL, with three enterprises and a key per role."""
    return make_api(make_runtime(database_url=database_url))


@pytest.fixture(name="api_park")
def api_park_fixture(api) -> Api:
    """``api`` with two policies delivered (dry-run) and their deadlines."""
    return park(api)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    """An XLSX workbook of one sheet holding ``rows``."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
