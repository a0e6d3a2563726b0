"""Who may call what: every route declares its roles, and a walk of every route with every
role (and none) gets what the roles say. An enterprise key sees nothing of another enterprise."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from notifier.store.models import ApiKey
from notifier.web.app import create_app
from notifier.web.auth import Public, RoleRequirement

from support.apiclient import OTHER, OWN, api_fixture, api_park_fixture, make_api

__all__ = ["api_fixture", "api_park_fixture"]  # fixtures

ALL_ROLES = ("admin", "staff", "publisher", "approver", "enterprise")
# A publisher writes and publishes policies and templates; an approver reads policies and
# campaigns (and their progress); neither touches the register.
PUBLISHER_PATHS = ("/api/v1/policies", "/api/v1/templates")
APPROVER_READS = re.compile(r"/api/v1/(policies|campaigns)(/\{\w+\}(/progress)?)?$")


def _routes(routes: list[Any], inherited: tuple[Any, ...] = ()) -> Iterator[tuple[APIRoute, tuple]]:
    """Every APIRoute of the app with the dependencies its routers add."""
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from _routes(router.routes, inherited + tuple(router.dependencies))
        elif isinstance(route, APIRoute):
            yield route, inherited


def _declared(route: APIRoute, inherited: tuple) -> tuple[str, ...] | None:
    """The roles a route admits ((): public), or None when it declares nothing."""
    calls = [d.call for d in route.dependant.dependencies] + [d.dependency for d in inherited]
    for call in calls:
        if isinstance(call, RoleRequirement | Public):
            return tuple(str(role) for role in call.roles)
    return None


def test_every_route_declares_the_roles_it_admits(make_runtime, tmp_path):
    app = create_app(make_runtime(database_url=f"sqlite:///{tmp_path / 'n.db'}"))
    walked = list(_routes(app.router.routes))
    assert len(walked) > 20
    undeclared = [r.path for r, inherited in walked if _declared(r, inherited) is None]
    assert undeclared == []
    public = sorted(r.path for r, inherited in walked if _declared(r, inherited) == ())
    assert public == [
        "/callbacks/{provider}/replies",  # a vendor's push: its URL's token, not a key
        "/callbacks/{provider}/reports",
        "/healthz",
        "/metrics",
    ]


def _expected(path: str, role: str | None, method: str = "GET") -> str:
    """What a role should get on a route: "allowed", "forbidden" (403), "unauthenticated" or
    "token" (a vendor's push: no key needed, and without the URL's token a 403 naming it)."""
    if path.startswith("/callbacks/"):
        return "token"
    if path in ("/healthz", "/metrics"):
        return "allowed"
    if role is None:
        return "unauthenticated"
    if path.startswith("/api/v1/me"):
        return "allowed" if role == "enterprise" else "forbidden"
    if role == "admin":
        return "allowed"
    # Deciding a send that waits for approval is an approver's (or an admin's), never staff's.
    deciding = path.startswith("/api/v1/approvals/") and path.endswith(("/approve", "/return"))
    if role == "staff" and not path.startswith(("/api/v1/keys", "/api/v1/audit")) and not deciding:
        return "allowed"
    if role == "publisher" and path.startswith(PUBLISHER_PATHS):
        return "allowed"
    if role == "approver" and method == "GET" and APPROVER_READS.match(path):
        return "allowed"
    if role == "approver" and path.startswith("/api/v1/approvals"):
        return "allowed"  # reading and deciding the sends waiting for approval
    return "forbidden"


def _fill(path: str, api) -> str:
    """The path with ids of another enterprise's data (firm 2's), so an allowed call is real."""
    values = {
        "credit_code": OTHER,
        "policy_id": api.ids["other_policy"],
        "deadline_id": api.ids["other_deadline"],
        "delivery_id": api.ids["other_delivery"],
        "prefix": "ntf_0000000000",
        "provider": "no-such-provider",
        "campaign_id": api.ids.get("campaign", 999999),
        "name": "no-such-template",
        "channel": "sms",
        "approval_id": 999999,
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def _operations(api) -> list[tuple[str, str]]:
    schema = api.client.get("/api/openapi.json").json()
    return [(method.upper(), path) for path, item in schema["paths"].items() for method in item]


@pytest.mark.parametrize("role", [None, *ALL_ROLES])
def test_every_route_with_every_role_gets_what_its_roles_say(api_park, role):
    operations = _operations(api_park)
    assert len(operations) > 20
    wrong = []
    for method, path in operations:
        response = api_park.request(method, _fill(path, api_park), role, json={})
        expected = _expected(path, role, method)
        got = response.status_code
        if got >= 500:
            wrong.append((method, path, got, "server error"))
        elif expected == "unauthenticated" and got != 401:
            wrong.append((method, path, got, "expected 401"))
        elif expected == "forbidden" and got != 403:
            wrong.append((method, path, got, "expected 403"))
        elif expected == "allowed" and got in (401, 403):
            wrong.append((method, path, got, "expected to be let in"))
        elif expected == "token" and (got != 403 or response.json()["error"]["field"] != "token"):
            wrong.append((method, path, got, "expected 403 for want of the URL's token"))
    assert wrong == []


def test_an_enterprise_key_gets_403_or_404_on_another_enterprises_data_on_every_route(
    api_park,
):
    api = api_park
    for method, path in _operations(api):
        if path in ("/healthz", "/metrics") or "{" not in path:
            continue
        response = api.request(method, _fill(path, api), "enterprise", json={})
        assert response.status_code in (403, 404), (method, path, response.status_code)
    # Its own routes name its own things only: another's delivery or deadline is not there.
    other = api.ids["other_delivery"]
    assert api.get(f"/api/v1/me/deliveries/{other}", "enterprise").status_code == 404
    deadline = api.ids["other_deadline"]
    done = api.post(f"/api/v1/me/deadlines/{deadline}/done", "enterprise")
    assert done.status_code == 404
    own = api.ids["own_delivery"]
    assert api.get(f"/api/v1/me/deliveries/{own}", "enterprise").json()["credit_code"] == OWN
    listed = api.get("/api/v1/me/deliveries", "enterprise").json()["items"]
    assert listed and {d["credit_code"] for d in listed} == {OWN}
    deadlines = api.get("/api/v1/me/deadlines", "enterprise").json()
    assert [d["title"] for d in deadlines] == ["申报截止"]
    assert api.get("/api/v1/me", "enterprise").json()["credit_code"] == OWN


def test_a_key_is_shown_once_and_only_its_hash_is_stored(api):
    made = api.post("/api/v1/keys", json={"role": "staff", "name": "王科员"})
    assert made.status_code == 201
    key = made.json()["key"]
    prefix = made.json()["prefix"]
    assert key.startswith(prefix + "_")
    listed = api.get("/api/v1/keys").json()
    assert prefix in [k["prefix"] for k in listed]
    assert key not in str(listed)
    engine = api.runtime.engine
    with engine.connect() as connection:
        rows = connection.execute(sa.select(ApiKey.__table__)).mappings().all()
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert key not in stored and key.split("_", 2)[2] not in stored
    assert api.get("/api/v1/enterprises", headers={"X-API-Key": key}, role=None).status_code == 200
    revoked = api.post(f"/api/v1/keys/{prefix}/revoke")
    assert revoked.json()["revoked_at"]
    assert api.get("/api/v1/enterprises", headers={"X-API-Key": key}, role=None).status_code == 401


def test_failed_key_attempts_are_rate_limited_per_address_with_retry_after(
    database_url, make_runtime
):
    api = make_api(
        make_runtime(
            database_url=database_url,
            web={"failed_auth_limit": 3, "failed_auth_window_seconds": 60},
        )
    )
    bad = {"Authorization": "Bearer ntf_0123456789_" + "x" * 43}
    codes = [api.get("/api/v1/enterprises", role=None, headers=bad).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    blocked = api.get("/api/v1/enterprises", role=None, headers=bad)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert blocked.json()["error"]["reason"]


def test_a_right_key_passes_from_an_address_blocked_for_wrong_ones(database_url, make_runtime):
    api = make_api(make_runtime(database_url=database_url, web={"failed_auth_limit": 2}))
    bad = {"Authorization": "Bearer ntf_0123456789_" + "x" * 43}
    codes = [api.get("/api/v1/enterprises", role=None, headers=bad).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    # A key of 256 random bits cannot be guessed: locking its owner out protects nothing.
    assert api.get("/api/v1/enterprises", role="admin").status_code == 200
    assert api.get("/api/v1/enterprises", role=None, headers=bad).status_code == 429
