"""Errors on the pages app: a page in the reader's language, never JSON and never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from notifier.errors import InputError, NotFoundError
from notifier.web.errors import DATABASE_DOWN, database_failure, error_response
from notifier.web.views import Views

log = logging.getLogger(__name__)


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
