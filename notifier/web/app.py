"""The web app: ``create_app(runtime)`` mounts the API's routers, errors, limits and metrics.

No globals: the runtime hangs on ``app.state.runtime`` and routes reach it through
:func:`notifier.web.deps.get_runtime`. The console (another router) mounts on the same app.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from notifier.runtime import Runtime
from notifier.web import callbacks
from notifier.web.api import (
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
from notifier.web.errors import ERROR_RESPONSES, BodyLimit, install_error_handlers
from notifier.web.metrics import Metrics, RequestMetrics
from notifier.web.ratelimit import ClientAddress, failed_attempts

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every ``/api/v1`` route, each declaring its error responses."""
    router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (enterprises, policies, deadlines, deliveries, keys, audit, me):
        router.include_router(module.router)
    for module in (templates, campaigns):
        router.include_router(module.router)
    return router


def create_app(runtime: Runtime) -> FastAPI:
    """The ASGI app over ``runtime`` (its settings, sessions, broker and clock)."""
    app = FastAPI(
        title="notifier",
        version="1",
        description="北仑园区企业政策与截止日期通知 / policies and deadlines for the enterprises "
        "of Beilun's industrial parks. 认证 / auth: `Authorization: Bearer <API key>`.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime
    app.state.failed_attempts = failed_attempts(
        runtime.settings, now=lambda: runtime.clock.now().timestamp()
    )
    app.state.client_address = ClientAddress(runtime.settings.web.trusted_proxies)
    app.state.metrics = Metrics(runtime)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api_router())
    # SMS vendors' reports and replies (a token, no key)
    app.include_router(callbacks.router, responses=ERROR_RESPONSES)
    # The console and the enterprise pages: tried after every route above.
    app.mount(
        "/",
        web_pages(
            runtime,
            failed_attempts=app.state.failed_attempts,
            client_address=app.state.client_address,
        ),
    )
    # Outermost last: the body limit sees a request before anything reads it.
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(BodyLimit, limit=runtime.settings.web.max_body_bytes)
    return app
