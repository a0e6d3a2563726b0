"""Every console page is a module-level route that declares the roles it lets in, and for every
post the session's CSRF value; only the sign-in form is open. The admin pages admit admins
only; the register's pages (firms, deliveries, follow-ups, deadlines, imports) admins and staff,
never a publisher or an approver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Mount

from notifier.web.app import create_app
from notifier.web.console import deps
from notifier.web.console.routes import PAGES

OPEN = {("GET", "/console/login"), ("POST", "/console/login")}
ADMIN_PATHS = ("/console/admin", "/console/calendar", "/console/complaints")
REGISTER_PATHS = (
    "/console/enterprises", "/console/deliveries", "/console/followups", "/console/deadlines",
    "/console/policies/{policy_id}/reach.xlsx",
)  # fmt: skip


def _routes(routes: list[Any], outer: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route of the app with its full path (an included router's own routes carry its
    prefix; what it includes gets that prefix too)."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from _routes(included.routes, outer + included.prefix)
        elif isinstance(route, Mount) and hasattr(route.app, "routes"):
            yield from _routes(route.app.routes, outer)
        elif isinstance(route, APIRoute):
            yield outer + route.path, route


def _check(route: APIRoute) -> Any:
    """The role check a route takes directly, or None."""
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, deps.Admits)]
    assert len(found) <= 1, route.path
    return found[0] if found else None


def test_every_console_route_declares_its_role_check_and_posts_check_csrf(
    make_runtime, tmp_path
):
    app = create_app(make_runtime(database_url=f"sqlite:///{tmp_path / 'n.db'}"))
    routes = [(p, r) for p, r in _routes(app.router.routes) if p.startswith("/console/")]
    assert len(routes) > 30
    for path, route in routes:
        check = _check(route)
        for method in route.methods:
            if (method, path) in OPEN:
                assert check is None, path
                continue
            assert check is not None, path
            assert isinstance(check, deps.AdmitsPost) == (method == "POST"), path
            if path.startswith(ADMIN_PATHS):
                assert check.roles == ("admin",), path
            elif path.startswith(REGISTER_PATHS):
                assert set(check.roles) == {"admin", "staff"}, path


def test_every_console_page_module_has_a_module_level_router():
    for page in PAGES:
        endpoints = [route.endpoint for route in page.router.routes]
        assert endpoints, page.__name__
        # Module-level functions, not closures made per app.
        assert all("<locals>" not in e.__qualname__ for e in endpoints), page.__name__
