"""The web app: ``create_app(runtime)`` mounts the API's routers, errors, limits and metrics.

No globals: the runtime hangs on ``app.state.runtime`` (the export process on
``app.state.exports``; whoever runs the app closes it) and routes reach it through
:func:`notifier.web.deps.get_runtime`. The console (another router) mounts on the same app.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from notifier.guards.sign_in import ClientAddress, failed_attempts
from notifier.runtime import Runtime
from notifier.services.access.users import prepare_sign_in
from notifier.services.delivery.receipts import CallbackTargets
from notifier.web import callbacks
from notifier.web.api import (
    approvals,
    audit,
    campaigns,
    deadlines,
    deliveries,
    enterprises,
    health,
    keys,
    me,
    policies,
    templates,
)
from notifier.web.console.routes import web_pages
from notifier.web.errors import (
    ERROR_RESPONSES,
    BodyLimit,
    check_parameters,
    install_error_handlers,
)
from notifier.web.export_pool import ExportPool
from notifier.web.headers import SecurityHeaders
from notifier.web.metrics import Metrics, RequestMetrics

API_PREFIX = "/api/v1"
DOCS_URL = "/api/docs"
OPENAPI_URL = "/api/openapi.json"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


# Built once per process and shared by every app: FastAPI resolves each route's dependencies
# and parameter models when a router is built (about 0.1 s for the API and the console), and
# the routes hold nothing of one app (they reach the runtime through ``request.app.state``).
@functools.cache
def api_router() -> APIRouter:
    """Every ``/api/v1`` route, each declaring its error responses."""
    router = APIRouter(
        prefix=API_PREFIX, responses=ERROR_RESPONSES, dependencies=[Depends(check_parameters)]
    )
    for module in (enterprises, policies, deadlines, deliveries, keys, audit, me):
        router.include_router(module.router)
    for module in (templates, campaigns, approvals):
        router.include_router(module.router)
    return router


def api_docs(request: Request) -> HTMLResponse:
    """``/api/docs``: Swagger UI (from its CDN), its one inline script allowed by hash, not by
    opening the site to inline script. A plain route, public, as FastAPI's own docs route."""
    page = get_swagger_ui_html(openapi_url=OPENAPI_URL, title="notifier API")
    html = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src https://cdn.jsdelivr.net {hashes}; "
        "style-src https://cdn.jsdelivr.net 'unsafe-inline'; "
        "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return page


def create_app(runtime: Runtime) -> FastAPI:
    """The ASGI app over ``runtime`` (its settings, sessions, broker and time_source)."""
    app = FastAPI(
        title="notifier",
        version="1",
        description="北仑园区企业政策与截止日期通知 / policies and deadlines for the enterprises "
        "of Beilun's industrial parks. 认证 / auth: `Authorization: Bearer <API key>`.",
        docs_url=None,  # api_docs(): the page with its own Content-Security-Policy
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    app.state.runtime = runtime
    prepare_sign_in()
    app.state.failed_attempts = failed_attempts(
        runtime.settings, time_source=lambda: runtime.time_source.now().timestamp()
    )
    app.state.client_address = ClientAddress(runtime.settings.web.trusted_proxies)
    app.state.metrics = Metrics(runtime)
    # Large exports are built in a child process (started on the first), out of this GIL.
    app.state.exports = ExportPool()
    install_error_handlers(app)
    app.include_router(health.router)
    app.add_route(DOCS_URL, api_docs, include_in_schema=False)
    app.include_router(api_router())
    # SMS vendors' reports and replies (a token, no key; their own error responses)
    app.state.callback_targets = CallbackTargets(runtime.sessions, runtime.settings)
    app.include_router(callbacks.router)
    # The console and the enterprise pages: tried after every route above.
    app.mount(
        "/",
        web_pages(
            runtime,
            failed_attempts=app.state.failed_attempts,
            client_address=app.state.client_address,
            exports=app.state.exports,
        ),
    )
    # Outermost last: the body limit sees a request before anything reads it.
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(BodyLimit, limit=runtime.settings.web.max_body_bytes)
    # Outermost of all: even a refusal of the body limit carries the security headers.
    app.add_middleware(SecurityHeaders)
    return app
