"""``/console/login`` and ``/console/logout``."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, SignedPost
from notifier.web.console.session import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_FORM_HOURS,
    SESSION_HOURS,
    STAFF_ROLES,
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
    csrf: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Exchange a staff or admin key for a session (failures counted per address)."""
    sessions = console.sessions
    # Login CSRF: another site must not sign this browser in under its own key.
    if not sessions.login_posted(request, csrf):
        return login_page(console, request, "login.expired", 403)
    client = console.client_address(request)
    identity = console.check_key(key.strip()) if key.strip() else None
    if identity is None or identity.role not in STAFF_ROLES:
        # Failures are what is limited: a right key passes even from a blocked address.
        if console.failed_attempts.retry_after(client) is not None:
            return login_page(console, request, "login.too_many", 429)
        console.failed_attempts.failed(client)
        return login_page(console, request, "login.refused", 401)
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


@router.post("/logout")
def logout(user: SignedPost, console: ConsoleDep) -> Response:
    """End the session; back to the sign-in form."""
    console.sessions.end(user)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
