"""``/console/login`` and ``/console/logout``."""


from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.web.console.context import Console
from notifier.web.console.session import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_FORM_HOURS,
    SESSION_HOURS,
    STAFF_ROLES,
    ConsoleUser,
)


def routes(console: Console) -> APIRouter:
    """The sign-in and sign-out routes."""
    router = APIRouter()
    sessions = console.sessions

    def login_page(request: Request, error: str | None, status_code: int = 200) -> HTMLResponse:
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
    def login_form(request: Request) -> Response:
        if sessions.read(request) is not None:
            return RedirectResponse("/console/", status_code=303)
        return login_page(request, None)

    @router.post("/login")
    def login(
        request: Request,
        key: Annotated[str, Form(max_length=200)] = "",
        csrf: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        # Login CSRF: another site must not sign this browser in under its own key.
        if not sessions.login_posted(request, csrf):
            return login_page(request, "login.expired", 403)
        client = console.client_address(request)
        identity = console.check_key(key.strip()) if key.strip() else None
        if identity is None or identity.role not in STAFF_ROLES:
            # Failures are what is limited: a right key passes even from a blocked address.
            if console.failed_attempts.retry_after(client) is not None:
                return login_page(request, "login.too_many", 429)
            console.failed_attempts.failed(client)
            return login_page(request, "login.refused", 401)
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
    def logout(user: Annotated[ConsoleUser, Depends(sessions.posted_by)]) -> Response:
        sessions.end(user)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return router
