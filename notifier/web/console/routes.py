"""The console's router: every page under ``/console``, and its stylesheet."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from notifier.errors import InputError, NotFoundError
from notifier.guards.sign_in import ClientAddress, FailedAttempts
from notifier.runtime import Runtime
from notifier.services.access.api_keys import authenticate
from notifier.web.console import (
    admin,
    calendar,
    campaigns,
    dashboard,
    deadlines,
    deliveries,
    enterprises,
    login,
    policies,
    providers,
    templates,
)
from notifier.web.console.context import Console
from notifier.web.console.session import Identity, KeyCheck, Sessions
from notifier.web.errors import DATABASE_DOWN, check_parameters, database_failure, error_response
from notifier.web.forms import secret_keys
from notifier.web.pages.language import language_switch
from notifier.web.pages.links import enterprise_pages
from notifier.web.views import STATIC_DIR, Views

log = logging.getLogger(__name__)

STATIC_FILES = {"console.css": "text/css", "console.js": "text/javascript"}


def static_files() -> APIRouter:
    """The console's own stylesheet and script (no CDN: the machine may have no internet)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/static/{name}")
    def static(name: str) -> FileResponse:
        media = STATIC_FILES.get(name)
        if media is None:
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(STATIC_DIR / name, media_type=media)

    return router


def api_key_check(runtime: Runtime, keys: list[str]) -> KeyCheck:
    """Whom an API key names, checked as the API checks it (hashed, revocable)."""

    def check(key: str) -> Identity | None:
        principal = authenticate(runtime.sessions, key, peppers=keys,
        time_source=runtime.time_source)
        if principal is None:
            return None
        return Identity(role=principal.role.value, name=principal.prefix, key_id=principal.key_id)

    return check


def console_router(
    runtime: Runtime,
    views: Views,
    *,
    failed_attempts: FailedAttempts,
    client_address: ClientAddress,
) -> APIRouter:
    """Every console page, over ``runtime``; failed sign-ins count in ``failed_attempts``
    against ``client_address``."""
    settings = runtime.settings
    keys = secret_keys(
        settings.secret_key.get_secret_value(),
        [k.get_secret_value() for k in settings.old_secret_keys],
    )
    console = Console(
        runtime=runtime,
        views=views,
        sessions=Sessions(
            keys,
            secure=settings.public_url.startswith("https://"),
            db=runtime.sessions,
            time_source=runtime.time_source,
        ),
        check_key=api_key_check(runtime, keys),
        failed_attempts=failed_attempts,
        client_address=client_address,
    )
    router = APIRouter(prefix="/console", include_in_schema=False)
    for page in (
        login, dashboard, policies, deliveries, enterprises, deadlines, admin, templates,
        providers, campaigns, calendar,
    ):
        router.include_router(page.routes(console))
    return router


def install_page_errors(app: FastAPI, views: Views) -> None:
    """Errors as pages in the reader's language: a redirect stays a redirect (sign-in), a bad
    path value is "not found", never JSON and never a 500."""

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/api/"):
            # A path the API does not have: the API's JSON error, not a page.
            return error_response(exc.status_code, "不存在 / not found")
        location = (exc.headers or {}).get("Location")
        if location is not None:
            return RedirectResponse(location, status_code=exc.status_code)
        key = {403: "error.forbidden", 404: "error.not_found"}.get(exc.status_code, "error.other")
        return views.page(request, "error.html", status_code=exc.status_code, key=key)

    def invalid(request: Request, exc: Exception) -> Response:
        return views.page(request, "error.html", status_code=404, key="error.not_found")

    def bad_input(request: Request, exc: Exception) -> Response:
        # A query or path value the line rule refused (a NUL...), or one the database refused
        # that an input check missed (logged in one line, so the check can be added).
        if isinstance(exc, NotFoundError):
            return invalid(request, exc)
        if isinstance(exc, DataError):
            log.warning("database refused a value on %s: %s", request.url.path,
                        database_failure(exc))  # fmt: skip
        detail = str(exc) if isinstance(exc, InputError) else None
        return views.page(request, "error.html", status_code=400, key="error.other", detail=detail)

    def database_down(request: Request, exc: Exception) -> Response:
        log.error("database unavailable: %s", database_failure(exc))
        return views.page(request, "error.html", status_code=503, key="error.unavailable")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(InputError, bad_input)
    app.add_exception_handler(DataError, bad_input)
    for down in DATABASE_DOWN:
        app.add_exception_handler(down, database_down)


def web_pages(
    runtime: Runtime, *, failed_attempts: FailedAttempts, client_address: ClientAddress
) -> FastAPI:
    """Every page (console, enterprise links, language switch, stylesheet) as an app of its
    own, mounted beside the JSON API: HTML pages signed in by cookie or by a link's token, so
    the API's key and role checks, schema and JSON errors stay the API's alone."""
    views = Views(zone=runtime.settings.zone)
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_parameters)],
    )
    install_page_errors(app, views)
    for router in (
        static_files(),
        language_switch(),
        enterprise_pages(runtime, views),
        console_router(
            runtime, views, failed_attempts=failed_attempts, client_address=client_address
        ),
    ):
        app.include_router(router)
    return app
