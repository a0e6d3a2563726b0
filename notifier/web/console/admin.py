"""``/console/admin``: API keys (make, shown once; revoke), the settings in effect (secrets
masked), the audit log."""


import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.config import Settings
from notifier.domain.paging import page_number
from notifier.errors import InputError
from notifier.services.access import key_admin
from notifier.store import apikeys, audit
from notifier.store.paging import paged
from notifier.web.console.context import Console
from notifier.web.console.deps import AdminPost, AdminUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

MASK = "********"
AUDIT_PAGE = 50
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?P<tail>@)", re.I)

router = APIRouter()


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}\g<tail>", value)
    return value


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """A section's settings under dotted names (``delivery.batch_size``); lists stay whole."""
    if not isinstance(value, dict):
        return [(prefix, value)]
    return [pair for k, v in value.items() for pair in _flat(f"{prefix}.{k}" if prefix else k, v)]


def settings_in_effect(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (dotted name, value) with secrets and URL passwords masked; the page
    names each by its ``setting.<name>`` words, the raw name under them."""
    # JSON mode writes each SecretStr as asterisks; URLs may still carry a password.
    data = _masked(settings.model_dump(mode="json"))
    return [
        (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for name, value in sorted(_flat("", data))
    ]


def admin_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    note: str | None = None,
    number: int = 1,
) -> HTMLResponse:
    """The admin page: the keys, the settings in effect, page ``number`` of the audit log."""
    runtime = console.runtime
    with runtime.sessions() as session:
        keys = apikeys.listed(session)
        entries = paged(session, audit.newest_first(), number=number, size=AUDIT_PAGE)
        return console.page(
            request,
            "console/admin.html",
            user,
            status_code=status_code,
            settings=settings_in_effect(runtime.settings),
            keys=keys,
            audit=entries.rows,
            pager=entries,
            error=error,
            form=form or {},
            note=note,
        )


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request,
    user: AdminUser,
    console: ConsoleDep,
    note: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    """The admin page (the audit log a page at a time)."""
    shown = note if note == "revoked" else None
    return admin_page(console, request, user, note=shown, number=page_number(page))


@router.post("/admin/keys", response_class=HTMLResponse)
def make_key(
    request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> HTMLResponse:
    """Make a key owned by the signed-in user, shown once on the page this answers with."""
    shown = {k: str(form.get(k) or "").strip() for k in ("role", "name", "enterprise")}
    try:
        new = key_admin.make_key(
            console.acting(user),
            role=shown["role"],
            name=shown["name"],
            credit_code=shown["enterprise"] or None,
            owner=user.person,
        )
    except InputError as exc:
        return admin_page(console, request, user, status_code=400, error=str(exc), form=shown)
    page = console.page(request, "console/key_made.html", user, new=new)
    # The key is in this answer only: no cache may keep it.
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/admin/keys/{prefix}/revoke")
def revoke(request: Request, prefix: str, user: AdminPost, console: ConsoleDep) -> Response:
    """Revoke a key by its prefix."""
    try:
        key_admin.revoke(console.acting(user), prefix)
    except InputError as exc:
        return admin_page(console, request, user, status_code=404, error=str(exc))
    return RedirectResponse("/console/admin?note=revoked", 303)
