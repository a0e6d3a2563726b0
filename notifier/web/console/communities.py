"""``/console/admin/communities``: the district's communities (their regions, staff and firms)
and departments (their publishers), and the forms that add one or set a community's regions;
each form one call of ``services.communities``."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.errors import InputError
from notifier.services.communities import operations
from notifier.web.console.context import Console
from notifier.web.console.deps import AdminPost, AdminUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

router = APIRouter()

NOTES = ("community_added", "regions_set", "department_added")
PATH = "/console/admin/communities"


def _text(form: PostedForm, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _regions(text: str) -> list[str]:
    """One region a line (or separated by ``;``)."""
    return [part.strip() for line in text.splitlines() for part in line.split(";") if part.strip()]


def communities_page(
    console: Console, request: Request, user: ConsoleUser, **context: Any
) -> HTMLResponse:
    """The page; ``context`` may hold ``status_code``, ``error``, ``note`` and ``form``."""
    sessions = console.runtime.sessions
    shown: dict[str, Any] = {"error": None, "note": None, "form": {}, **context}
    return console.page(
        request, "console/communities.html", user,
        communities=operations.list_communities(sessions),
        departments=operations.list_departments(sessions), **shown,
    )  # fmt: skip


@router.get("/admin/communities", response_class=HTMLResponse)
def listing(
    request: Request, user: AdminUser, console: ConsoleDep, note: str | None = None
) -> HTMLResponse:
    """Every community and department."""
    return communities_page(console, request, user, note=note if note in NOTES else None)


def _done(
    console: Console, request: Request, user: ConsoleUser, form: PostedForm, note: str, run: Any
) -> Response:
    """Run one service call; its refusal shows the page again with what was typed."""
    try:
        run()
    except InputError as exc:
        kept = {name: _text(form, name) for name in ("name", "regions", "department")}
        return communities_page(
            console, request, user, status_code=400, error=str(exc), form=kept
        )
    return RedirectResponse(f"{PATH}?note={note}", 303)


@router.post("/admin/communities")
def add(request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Add a community with its regions (audited ``community.create``)."""
    name, regions = _text(form, "name", 100), _regions(_text(form, "regions"))
    context = console.acting(user)
    return _done(
        console, request, user, form, "community_added",
        lambda: operations.add_community(context, name, regions),
    )  # fmt: skip


@router.post("/admin/communities/regions")
def set_regions(
    request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Replace a community's regions (audited ``community.set_regions``)."""
    name, regions = _text(form, "name", 100), _regions(_text(form, "regions"))
    context = console.acting(user)
    return _done(
        console, request, user, form, "regions_set",
        lambda: operations.set_regions(context, name, regions),
    )  # fmt: skip


@router.post("/admin/departments")
def add_department(
    request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Add a department (audited ``department.create``)."""
    name = _text(form, "department", 100)
    context = console.acting(user)
    return _done(
        console, request, user, form, "department_added",
        lambda: operations.add_department(context, name),
    )  # fmt: skip
