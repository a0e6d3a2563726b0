"""``/console/account`` (one's own password) and ``/console/admin/users`` (an admin adds,
disables and resets people's accounts): each form one call of ``services.access.users``."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.domain.paging import page_number
from notifier.errors import InputError, NotFoundError
from notifier.services.access import users
from notifier.services.communities import operations as places
from notifier.web.console.context import Console
from notifier.web.console.deps import (
    AdminPost,
    AdminUser,
    ConsoleDep,
    PostedForm,
    SignedIn,
    SignedPost,
)
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id

router = APIRouter()

NOTES = ("created", "disabled", "reset", "changed")
FIELDS = ("name", "role", "phone", "community", "department")
PAGE = 50


def _note(note: str | None) -> str | None:
    return note if note in NOTES else None


def _text(form: PostedForm, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _page(
    console: Console, request: Request, name: str, user: ConsoleUser, **context: Any
) -> HTMLResponse:
    """A page with password forms (no cache keeps it), with no error or note unless given."""
    shown: dict[str, Any] = {"error": None, "note": None, **context}
    page = console.page(request, f"console/{name}.html", user, **shown)
    page.headers["Cache-Control"] = "no-store"
    return page


def account_page(
    console: Console, request: Request, user: ConsoleUser, **context: Any
) -> HTMLResponse:
    """One's own account: the change-password form (for people, not keys); ``context`` may
    hold ``status_code``, ``error``, ``note``."""
    return _page(console, request, "account", user, **context)


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, user: SignedIn, console: ConsoleDep, note: str | None = None
) -> HTMLResponse:
    """One's own account."""
    return account_page(console, request, user, note=_note(note))


@router.post("/account/password")
def change_password(
    request: Request, user: SignedPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Change one's own password; one's other sessions end."""
    if user.user_id is None:
        return console.not_found(request)
    new = _text(form, "new")
    if new != _text(form, "repeat"):
        return account_page(console, request, user, status_code=400, error="accounts.mismatch")
    try:
        users.change_password(
            console.acting(user), user.user_id, current=_text(form, "current"), new=new,
            keep_session=user.session_hash,
        )  # fmt: skip
    except InputError as exc:
        return account_page(console, request, user, status_code=400, error=str(exc))
    return RedirectResponse("/console/account?note=changed", 303)


def users_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    form: dict[str, Any] | None = None,
    number: int = 1,
    **context: Any,
) -> HTMLResponse:
    """The admin's list of people (page ``number``), with the form to add one (``form``: its
    values to keep); ``context`` may hold ``status_code``, ``error``, ``note``."""
    sessions = console.runtime.sessions
    people = users.page_of_users(sessions, number=number, size=PAGE)
    return _page(
        console, request, "users", user, people=people.rows, pager=people,
        roles=users.USER_ROLES, form=form or {},
        communities=[c["name"] for c in places.list_communities(sessions)],
        departments=[d["name"] for d in places.list_departments(sessions)], **context,
    )  # fmt: skip


@router.get("/admin/users", response_class=HTMLResponse)
def people(
    request: Request,
    user: AdminUser,
    console: ConsoleDep,
    note: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    """Every account, a page at a time, and the form to add one."""
    return users_page(console, request, user, note=_note(note), number=page_number(page))


@router.post("/admin/users")
def add(request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Add an account (refused: the form again, filled in but for the password)."""
    shown = {name: _text(form, name).strip() for name in FIELDS}
    try:
        users.add_user(
            console.acting(user), name=shown["name"], role=shown["role"],
            password=_text(form, "password"), phone=shown["phone"],
            community=shown["community"], department=shown["department"],
        )  # fmt: skip
    except InputError as exc:
        return users_page(console, request, user, status_code=400, error=str(exc), form=shown)
    return RedirectResponse("/console/admin/users?note=created", 303)


@router.post("/admin/users/{user_id}/disable")
def disable(request: Request, user_id: Id, user: AdminPost, console: ConsoleDep) -> Response:
    """Disable an account: its sessions end at once."""
    try:
        users.disable_user(console.acting(user), user_id)
    except NotFoundError:
        return console.not_found(request)
    return RedirectResponse("/console/admin/users?note=disabled", 303)


@router.post("/admin/users/{user_id}/reset")
def reset(
    request: Request, user_id: Id, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Give an account a new password (told to its holder by the admin); its sessions end."""
    try:
        users.reset_password(console.acting(user), user_id, _text(form, "password"))
    except NotFoundError:
        return console.not_found(request)
    except InputError as exc:
        return users_page(console, request, user, status_code=400, error=str(exc))
    return RedirectResponse("/console/admin/users?note=reset", 303)
