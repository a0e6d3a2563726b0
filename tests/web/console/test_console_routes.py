"""Every console page is a module-level route that declares who may use it: a signed-in user
(staff or admin), an admin, and for every post the session's CSRF value; only the sign-in form
is open. The admin pages take the admin checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Mount

from notifier.web.app import create_app
from notifier.web.console import deps
from notifier.web.console.routes import PAGES

OPEN = {("GET", "/console/login"), ("POST", "/console/login")}
CHECKS = {deps.signed_in, deps.signed_in_admin, deps.posted_by, deps.admin_posted}
ADMIN_PATHS = ("/console/admin", "/console/calendar", "/console/complaints")


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
    found = [d.call for d in route.dependant.dependencies if d.call in CHECKS]
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
            elif path.startswith(ADMIN_PATHS):
                admin = deps.admin_posted if method == "POST" else deps.signed_in_admin
                assert check is admin, path
            else:
                assert check is (deps.posted_by if method == "POST" else deps.signed_in), path


def test_every_console_page_module_has_a_module_level_router():
    for page in PAGES:
        endpoints = [route.endpoint for route in page.router.routes]
        assert endpoints, page.__name__
        # Module-level functions, not closures made per app.
        assert all("<locals>" not in e.__qualname__ for e in endpoints), page.__name__
