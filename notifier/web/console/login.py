"""``/console/login`` and ``/console/logout``."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.services.access.users import sign_in
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, SignedPost
from notifier.web.console.session import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_FORM_HOURS,
    SESSION_HOURS,
    STAFF_ROLES,
    Identity,
)

router = APIRouter()


def login_page(
    console: Console, request: Request, error: str | None, status_code: int = 200
) -> HTMLResponse:
    """The sign-in form, with its CSRF value (and the pre-session cookie it is bound to)."""
    sessions = console.sessions
    csrf, cookie = sessions.login_form(request)
    page = console.views.page(
        request, "console/login.html", error=error, status_code=status_code, csrf=csrf
    )
    if cookie is not None:
        page.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=LOGIN_FORM_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=sessions.secure,
            path="/console/login",
        )
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, console: ConsoleDep) -> Response:
    """The sign-in form; the dashboard for one signed in already."""
    if console.sessions.read(request) is not None:
        return RedirectResponse("/console/", status_code=303)
    return login_page(console, request, None)


@router.post("/login")
def login(
    request: Request,
    console: ConsoleDep,
    key: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Exchange a user's name and password, or a staff or admin key, for a session (failures
    counted per address)."""
    sessions = console.sessions
    # Login CSRF: another site must not sign this browser in under its own key.
    if not sessions.login_posted(request, csrf):
        return login_page(console, request, "login.expired", 403)
    client = console.client_address(request)
    if name.strip():
        identity, refused = _by_password(console, client, " ".join(name.split()), password)
    else:
        identity, refused = _by_key(console, client, key.strip())
    if identity is None:
        return login_page(console, request, *refused)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(
        COOKIE,
        sessions.start(identity),
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=sessions.secure,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    return response


Refusal = tuple[str, int]


def _by_key(console: Console, client: str, key: str) -> tuple[Identity | None, Refusal]:
    """A staff or admin key's identity. Failures are what is limited: a right key passes even
    from a blocked address (a key's 256 random bits cannot be guessed)."""
    identity = console.check_key(key) if key else None
    if identity is not None and identity.role in STAFF_ROLES:
        return identity, ("", 200)
    attempts = console.failed_attempts
    if attempts.retry_after(client) is not None:
        return None, ("login.too_many", 429)
    attempts.failed(client)
    return None, ("login.refused", 401)


def _by_password(
    console: Console, client: str, name: str, password: str
) -> tuple[Identity | None, Refusal]:
    """A user's identity by name and password. Unlike a key, a password can be guessed: a
    blocked address or name is refused before the password is even checked, right or not, and
    failures count against both (so guessing one name from many addresses is slow too)."""
    attempts = console.failed_attempts
    counted = (client, f"user:{name}")
    if any(attempts.retry_after(each) is not None for each in counted):
        return None, ("login.too_many", 429)
    user = sign_in(console.runtime.sessions, name, password)
    if user is None or user.role not in STAFF_ROLES:
        for each in counted:
            attempts.failed(each)
        return None, ("accounts.refused", 401)
    return Identity(role=user.role, name=user.name, user_id=user.user_id), ("", 200)


@router.post("/logout")
def logout(user: SignedPost, console: ConsoleDep) -> Response:
    """End the session; back to the sign-in form."""
    console.sessions.end(user)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
