"""The role-by-scope matrix: every API route and console page, walked by a staff member of each
of two communities, a department's publisher, an approver, an admin and an enterprise.

Another community's firm, delivery, campaign or export is "not found" (404), never "forbidden";
no response body (listings, counts, cursors' pages, exports, XLSX) holds the other community's
firm names or credit codes; a publisher and an approver see no firm at all; the register's
routes keep them out (403). The routes are read from the app, so a new one is walked too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook
from sqlalchemy import func, select
from starlette.routing import Mount

from notifier.domain.scope import community_scope, department_scope
from notifier.store.models import Enterprise
from notifier.store.scope import firms_in
from notifier.web.console.deps import Admits

from support.district import (
    A_FIRMS,
    B_FIRMS,
    PASSWORD,
    District,
    build_district,
    marks,
)
from support.factories import REGION, credit_code
from support.reach import ELSEWHERE, firm_id
from support.web_harness import csrf_of

ACTORS = ("admin", "staff_a", "staff_b", "district", "publisher", "approver", "enterprise")
ALL = A_FIRMS + B_FIRMS
# What each actor may never see of the register.
HIDDEN = {
    "staff_a": B_FIRMS,
    "staff_b": A_FIRMS,
    "publisher": ALL,
    "approver": ALL,
    "enterprise": (3, *B_FIRMS),
}
# API routes (by prefix) each role is let into; the rest answer 403.
PUBLISHER_API = ("/api/v1/policies", "/api/v1/templates")
APPROVER_API = re.compile(
    r"(GET /api/v1/(policies|campaigns)(/\{\w+\}(/progress)?)?|(GET|POST) /api/v1/approvals.*)$"
)
# An approver reads what it approves: each request's frozen text, rendered for one firm.
SAMPLE_SEEN = {"approver": ("/api/v1/approvals", "/console/approvals")}


@pytest.fixture
def district(make_runtime, sqlite_url) -> District:
    return build_district(make_runtime, sqlite_url)


def _text(response) -> str:
    """A response's text; an XLSX workbook's cells joined."""
    if response.content[:2] == b"PK":
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(
            str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for cell in row if cell is not None
        )  # fmt: skip
    return response.text


def _leaks(response, actor: str) -> list[str]:
    """The hidden firms' names and codes in the response (a code the request named itself,
    echoed in a "not found", tells nothing)."""
    asked = str(response.request.url)
    if response.request.url.path.startswith(SAMPLE_SEEN.get(actor, ("//",))):
        return []
    text = _text(response)
    return [m for m in marks(HIDDEN.get(actor, ())) if m in text and m not in asked]


def _fill(path: str, district: District, actor: str) -> str:
    """The path with the ids of things outside ``actor``'s scope (for staff_b: community A's)."""
    ids = district.ids
    other_firm = credit_code(1 if actor == "staff_b" else 5)
    values = {
        "credit_code": other_firm,
        "delivery_id": ids["own_delivery" if actor == "staff_b" else "other_delivery"],
        "campaign_id": ids["own_campaign" if actor == "staff_b" else "other_campaign"],
        "approval_id": ids["own_approval" if actor == "staff_b" else "other_approval"],
        "policy_id": ids["trade" if actor == "publisher" else "policy"],
        "deadline_id": ids["deadline"],
        "prefix": "ntf_0000000000",
        "provider": "no-such-provider",
        "name": "no-such-template",
        "channel": "sms",
        "token": "no-such-token",
        "user_id": 999999,
        "day": "2031-03-03",
        "year": 2031,
        "action": "pause",
    }
    filled = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
    if filled.startswith("/api/v1/campaigns/") and filled.endswith("/preview"):
        filled += f"?enterprise={credit_code(5 if actor == 'staff_b' else 1)}"  # one's own
    return filled


def _api_operations(district: District) -> list[tuple[str, str]]:
    schema = district.client.get("/api/openapi.json").json()
    return [(method.upper(), path) for path, item in schema["paths"].items() for method in item]


def _api_admits(actor: str, method: str, path: str) -> bool:
    role = {"staff_a": "staff", "staff_b": "staff", "district": "staff"}.get(actor, actor)
    if path.startswith("/api/v1/me"):
        return role == "enterprise"
    if role == "admin":
        return True
    if method == "POST" and path.startswith("/api/v1/approvals"):
        return role == "approver"  # deciding
    if role == "staff":
        return not path.startswith(("/api/v1/keys", "/api/v1/audit"))
    if role == "publisher":
        return path.startswith(PUBLISHER_API)
    if role == "approver":
        return APPROVER_API.match(f"{method} {path}") is not None
    return False


OUT_OF_SCOPE_404 = ("{credit_code}", "{delivery_id}", "{campaign_id}", "{approval_id}")


@pytest.mark.parametrize("actor", [a for a in ACTORS if a != "admin"])
def test_every_api_route_keeps_each_actor_to_its_scope(district, actor):
    operations = _api_operations(district)
    assert len(operations) > 30
    wrong = []
    for method, path in operations:
        if not path.startswith("/api/v1/"):
            continue
        response = district.request(method, _fill(path, district, actor), actor, json={})
        got = response.status_code
        admitted = _api_admits(actor, method, path)
        if got >= 500:
            wrong.append((method, path, got, "server error"))
        elif not admitted and got != 403:
            wrong.append((method, path, got, "expected 403 for the role"))
        elif admitted and got in (401, 403):
            wrong.append((method, path, got, "expected to be let in"))
        elif (
            admitted and actor.startswith("staff") and method == "GET"
            and any(p in path for p in OUT_OF_SCOPE_404) and got != 404
        ):  # fmt: skip
            wrong.append((method, path, got, "another community's: expected 404"))
        if leaks := _leaks(response, actor):
            wrong.append((method, path, got, f"shows {leaks}"))
    assert wrong == []


@pytest.mark.parametrize("actor", ["staff_a", "staff_b", "publisher", "approver", "enterprise"])
def test_listings_pages_and_exports_hold_only_the_actors_firms(district, actor):
    queries = [
        "/api/v1/enterprises?limit=1", "/api/v1/deliveries?limit=1",
        "/api/v1/deliveries/export?format=csv", "/api/v1/deliveries/export?format=xlsx",
        "/api/v1/enterprises?q=有限公司", f"/api/v1/deliveries?enterprise={credit_code(5)}",
        f"/api/v1/policies/{district.ids['policy']}", "/api/v1/policies", "/api/v1/deadlines",
        "/api/v1/campaigns", "/api/v1/me/deliveries",
    ]  # fmt: skip
    for query in queries:
        pages = 0
        while query and pages < 20:  # every page a cursor leads to
            response = district.get(query, actor)
            assert response.status_code < 500, query
            assert _leaks(response, actor) == [], (query, actor)
            pages += 1
            following = response.json().get("next") if "json" in response.headers.get(
                "content-type", ""
            ) and isinstance(response.json(), dict) else None
            query = f"{query.split('&cursor=')[0]}&cursor={following}" if following else None


def test_a_community_counts_its_own_deliveries_and_the_admin_all(district):
    def total(actor: str) -> int:
        shown = district.get(f"/api/v1/policies/{district.ids['policy']}", actor).json()
        return sum(n for by_status in shown["deliveries"].values() for n in by_status.values())

    per_firm = {
        number: len(
            district.get(
                f"/api/v1/deliveries?policy={district.ids['policy']}&enterprise={credit_code(number)}",
                "admin",
            ).json()["items"]
        )
        for number in (1, 3, 5, 8)
    }
    assert total("staff_a") == per_firm[1] + per_firm[3] > 0
    assert total("staff_b") == per_firm[5] + per_firm[8] > 0
    assert total("admin") == total("district") == sum(per_firm.values())
    # A publisher and an approver see the district's numbers, and no firm.
    assert total("publisher") == total("approver") == total("admin")
    listed = district.get("/api/v1/enterprises", "staff_a").json()["items"]
    assert sorted(e["credit_code"] for e in listed) == [credit_code(1), credit_code(3)]
    assert len(district.get("/api/v1/enterprises", "district").json()["items"]) == 4


def test_a_publisher_sees_its_departments_policies_only(district):
    listed = district.get("/api/v1/policies", "publisher").json()
    assert [p["id"] for p in listed] == [district.ids["policy"]]
    assert district.get(f"/api/v1/policies/{district.ids['trade']}", "publisher").status_code == 404
    assert len(district.get("/api/v1/policies", "approver").json()) == 2


def test_writes_to_another_communitys_firm_are_not_found(district):
    other = credit_code(5)
    body = district.get(f"/api/v1/enterprises/{credit_code(1)}", "admin").json()
    moved = {**{k: body[k] for k in ("name", "region", "size")}, "credit_code": other}
    put = district.request("PUT", f"/api/v1/enterprises/{other}", "staff_a", json=moved)
    assert put.status_code == 404
    done = district.request(
        "POST", f"/api/v1/deadlines/{district.ids['deadline']}/done", "staff_a",
        json={"credit_code": other},
    )  # fmt: skip
    assert done.status_code == 404
    # A community's policy and campaign target its own community; outside it is refused.
    refused = district.request(
        "POST", "/api/v1/policies/preview", "staff_a",
        json={"title": "t", "department": "d", "targets": {"regions": [ELSEWHERE]}},
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "targets.regions"
    campaign = district.get(f"/api/v1/campaigns/{district.ids['own_campaign']}", "staff_a").json()
    assert campaign["audience"]["regions"] == [REGION]
    imported = district.request(
        "POST", "/api/v1/enterprises/import", "staff_a",
        files={"file": ("f.csv", b"credit_code,name\n", "text/csv")},
    )  # fmt: skip
    assert imported.status_code == 400


# The console ------------------------------------------------------------------------------


def _console_routes(routes: list[Any], outer: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _console_routes(included.routes, outer + included.prefix)
        elif isinstance(route, Mount) and hasattr(route.app, "routes"):
            yield from _console_routes(route.app.routes, outer)
        elif isinstance(route, APIRoute):
            yield outer + route.path, route


def _roles(route: APIRoute) -> tuple[str, ...]:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Admits)]
    return found[0].roles if found else ()


def _signed_in(district: District, user: str):
    client = district.client
    client.cookies.clear()
    form = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"name": user, "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


CONSOLE_ACTORS = ("staff_a", "staff_b", "publisher", "approver")


@pytest.mark.parametrize("actor", CONSOLE_ACTORS)
def test_every_console_page_keeps_each_user_to_their_scope(district, actor):
    routes = [
        (path, route) for path, route in _console_routes(district.client.app.router.routes)
        if path.startswith("/console/") and "GET" in route.methods and _roles(route)
    ]  # fmt: skip
    assert len(routes) > 20
    client = _signed_in(district, actor)
    role = "staff" if actor.startswith("staff") else actor
    wrong = []
    for path, route in routes:
        response = client.get(_fill(path, district, actor), follow_redirects=False)
        got = response.status_code
        admitted = role in _roles(route)
        if got >= 500:
            wrong.append((path, got, "server error"))
        elif not admitted and got != 403:
            wrong.append((path, got, "expected 403 for the role"))
        elif (
            admitted and role == "staff" and any(p in path for p in OUT_OF_SCOPE_404)
            and got != 404
        ):  # fmt: skip
            wrong.append((path, got, "another community's: expected 404"))
        if leaks := _leaks(response, actor):
            wrong.append((path, got, f"shows {leaks}"))
    assert wrong == []


@pytest.mark.parametrize("actor", CONSOLE_ACTORS)
def test_console_listings_reports_and_exports_hold_only_the_users_firms(district, actor):
    client = _signed_in(district, actor)
    policy, deadline = district.ids["policy"], district.ids["deadline"]
    pages = [
        "/console/", "/console/enterprises", "/console/enterprises?q=有限公司",
        "/console/deliveries", "/console/deliveries?q=新碶", "/console/deliveries/export",
        "/console/deliveries/export?format=csv", "/console/followups",
        f"/console/followups?policy={policy}", f"/console/policies/{policy}",
        f"/console/policies/{policy}/reach.xlsx", f"/console/deadlines/{deadline}",
        f"/console/deadlines/{deadline}/not-done.xlsx", "/console/policies", "/console/campaigns",
        "/console/policies/new", "/console/campaigns/new",
    ]  # fmt: skip
    for page in pages:
        response = client.get(page)
        assert response.status_code < 500, page
        assert _leaks(response, actor) == [], (page, actor)


def test_community_staff_see_their_own_firms_follow_ups_and_reach(district):
    client = _signed_in(district, "staff_a")
    followups = client.get("/console/followups").text
    assert "灵峰甲一有限公司" in followups and "新碶乙五有限公司" not in followups
    narrowed = client.get("/console/followups?community=新碶工业社区")
    assert "新碶乙五有限公司" not in narrowed.text
    reach = client.get(f"/console/policies/{district.ids['policy']}").text
    assert "灵峰工业社区" in reach and "新碶工业社区" not in reach
    call = client.post(
        "/console/followups/call",
        data={"csrf": csrf_of(followups), "policy_id": district.ids["policy"],
              "enterprise_id": firm_id(district.runtime, 5), "outcome": "已电话告知"},
        follow_redirects=False,
    )  # fmt: skip
    assert call.status_code == 404
    admin = _signed_in(district, "admin")
    assert "新碶乙五有限公司" in admin.get("/console/followups").text


# The store's one filter, on SQLite and PostgreSQL ----------------------------------------


def test_the_scope_filter_counts_a_communitys_firms_on_both_databases(make_runtime, database_url):
    district = build_district(make_runtime, database_url)
    with district.runtime.sessions() as session:

        def count(scope) -> int:
            query = select(func.count()).select_from(Enterprise).where(firms_in(scope))
            return session.scalar(query) or 0

        assert count(community_scope("灵峰", [REGION])) == 2
        assert count(community_scope("新碶", [ELSEWHERE, REGION])) == 4
        assert count(community_scope("无", [])) == 0
        assert count(community_scope("前缀", [REGION[:-2]])) == 0  # a prefix is not a region
        assert count(department_scope("经信局")) == 0
