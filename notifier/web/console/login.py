"""``/console/login`` and ``/console/logout``."""


from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.web.console.context import Console
from notifier.web.console.session import COOKIE, SESSION_HOURS, STAFF_ROLES, ConsoleUser


def routes(console: Console) -> APIRouter:
    """The sign-in and sign-out routes."""
    router = APIRouter()

    def login_page(request: Request, error: str | None, status_code: int = 200) -> HTMLResponse:
        return console.views.page(
            request, "console/login.html", error=error, status_code=status_code
        )

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        if console.sessions.read(request) is not None:
            return RedirectResponse("/console/", status_code=303)
        return login_page(request, None)

    @router.post("/login")
    def login(request: Request, key: Annotated[str, Form(max_length=200)] = "") -> Response:
        client = request.client.host if request.client else "unknown"
        if console.failed_attempts.retry_after(client) is not None:
            return login_page(request, "login.too_many", 429)
        identity = console.check_key(key.strip()) if key.strip() else None
        if identity is None or identity.role not in STAFF_ROLES:
            console.failed_attempts.failed(client)
            return login_page(request, "login.refused", 401)
        response = RedirectResponse("/console/", status_code=303)
        response.set_cookie(
            COOKIE,
            console.sessions.cookie_value(identity),
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=console.sessions.secure,
            path="/",
        )
        return response

    @router.post("/logout")
    def logout(user: Annotated[ConsoleUser, Depends(console.sessions.posted_by)]) -> Response:
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return router
