"""Errors as JSON: ``{"error": {"field": ..., "reason": ...}}``, never a 500 for bad input.

notifier's own errors map to statuses by kind (bad input 400, not found 404, conflict 409, broker
down 503); FastAPI's validation errors become 422 naming the first bad field (an unknown key
first, with the nearest known one); a body over ``web.max_body_bytes`` is refused with 413
before it is read (:class:`BodyLimit`).

Every query and path parameter passes :mod:`notifier.domain.text_rules`' line rule before a route
runs
(:func:`check_parameters`), so a NUL or an invisible character never reaches a query. A value
the database still refuses (:class:`~sqlalchemy.exc.DataError`: an input check missed it) is a
400, not a 500, and a database that cannot be reached is a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notifier.domain.text_rules import line_problem
from notifier.errors import (
    BrokerUnavailable,
    ConflictError,
    ContentRefused,
    InputError,
    NotAllowedError,
    NotFoundError,
    NotifierError,
)
from notifier.inputs.strict import known_keys, unknown_key_reason

# Raised when the database cannot be reached (refused, down, or no pooled connection in time).
DATABASE_DOWN = (OperationalError, PoolTimeout)
DATABASE_DOWN_REASON = "数据库不可用 / database unavailable"

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """Which field was wrong (None: the request as a whole) and why; for a text the content
    rules refuse, each finding (its place, word, offset and excerpt)."""

    field: str | None
    reason: str
    findings: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    """Every error response."""

    error: ErrorDetail


def error_response(
    status: int,
    reason: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """A JSON error response (``findings``: the content rules' findings, when given)."""
    error: dict[str, Any] = {"field": field, "reason": reason}
    if findings is not None:
        error["findings"] = findings
    body = {"error": error}
    return JSONResponse(body, status_code=status, headers=headers)


# Declared on every route, so the OpenAPI schema says what an error looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        400: "输入有误 / bad input",
        401: "需要有效的 API 密钥 / a valid API key is needed",
        403: "此密钥无权访问 / not allowed for this key",
        404: "不存在 / not found",
        409: "与现状冲突 / conflicts with the current state",
        413: "请求体过大 / body too large",
        422: "字段无效 / a field is invalid",
        429: "失败次数过多，请稍后再试 / too many failed attempts",
        503: "数据库或消息代理不可用 / database or broker unavailable",
    }.items()
}


def _notifier_error(_request: Request, exc: Exception) -> JSONResponse:
    field = getattr(exc, "field", None)
    if isinstance(exc, NotFoundError):
        return error_response(404, str(exc), field=field)
    if isinstance(exc, NotAllowedError):
        return error_response(403, str(exc), field=field)
    if isinstance(exc, ConflictError):
        return error_response(409, str(exc), field=field)
    if isinstance(exc, BrokerUnavailable):
        return error_response(503, str(exc), field="broker")
    if isinstance(exc, ContentRefused):  # well-formed, but its text may not go out
        return error_response(422, str(exc), field=field, findings=exc.findings)
    if isinstance(exc, InputError):
        return error_response(400, str(exc), field=field)
    return error_response(400, str(exc), field=field)


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    # An unknown key first, as the file readers do: a misspelt key explains a missing one.
    unknown = [error for error in errors if error.get("type") == "extra_forbidden"]
    first = (unknown or errors or [{"loc": (), "msg": "invalid request"}])[0]
    field = _location(first.get("loc", ())) or None
    reason = f"字段无效 / invalid: {_message(first, request)}"
    return error_response(422, reason, field=field)


def _unknown_key(error: Any, request: Request) -> str | None:
    """For a body's unknown key, the refusal naming the nearest known key (None: not one)."""
    loc = list(error.get("loc", ()))
    if error.get("type") != "extra_forbidden" or loc[:1] != ["body"] or len(loc) < 2:
        return None
    body = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(body, "field_info", None), "annotation", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    return unknown_key_reason(str(loc[-1]), known_keys(model, loc[1:-1]))


def _message(error: Any, request: Request) -> str:
    """Pydantic's message; for an unknown key, the nearest known one; for a value the line
    rule's pattern refused, which character."""
    unknown = _unknown_key(error, request)
    if unknown:
        return unknown
    given = error.get("input")
    if error.get("type") == "string_pattern_mismatch" and isinstance(given, str):
        problem = line_problem(given.strip()) or (
            "只有空白 holds no visible character" if not given.strip() else None
        )
        if problem:
            return problem
    return str(error.get("msg", "invalid"))


def check_parameters(request: Request) -> None:
    """Refuse a query or path parameter that breaks the line rule (a NUL, an invisible
    character), naming it: a dependency of every route, so no route can forget it.

    Raises:
        InputError: naming the parameter.
    """
    parameters = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in parameters:
        problem = line_problem(str(value))
        if problem:
            raise InputError(f"{name}: {problem}", field=str(name))


def _too_large(limit: int) -> str:
    return f"请求体超过 {limit} 字节 / body larger than {limit} bytes"


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "error"
    field = "body" if isinstance(exc, BodyTooLarge) else None
    return error_response(
        exc.status_code, detail, field=field, headers=getattr(exc, "headers", None)
    )


def database_failure(exc: Exception) -> str:
    """The first line of the database's own message, for a one-line log entry."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _database_down(_request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", database_failure(exc))
    return error_response(503, DATABASE_DOWN_REASON, field="database")


BAD_VALUE_REASON = "数据库不能保存此值 / a value the database cannot store"


def _bad_value(request: Request, exc: Exception) -> JSONResponse:
    # An input check should have caught it: logged (one line) so the check can be added.
    log.warning("database refused a value on %s: %s", request.url.path, database_failure(exc))
    return error_response(400, BAD_VALUE_REASON)


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "内部错误，已记录 / internal error, logged")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn errors into JSON (a bug too: a JSON 500, logged)."""
    app.add_exception_handler(NotifierError, _notifier_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for down in DATABASE_DOWN:
        app.add_exception_handler(down, _database_down)
    app.add_exception_handler(DataError, _bad_value)
    app.add_exception_handler(Exception, _unexpected)


class BodyTooLarge(HTTPException):
    """Raised inside ``receive`` once a body passes the limit: an HTTPException, so FastAPI's
    body parsing passes it on (rather than calling it a parse error) and it becomes a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodyLimit:
    """ASGI middleware: a body larger than ``limit`` bytes gets 413 before it is read.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is
    counted as it arrives and refused when it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, _too_large(self.limit), field="body")
        await response(scope, receive, send)
