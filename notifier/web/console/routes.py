"""The console's router: every page under ``/console``, and its stylesheet."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from notifier.runtime import Runtime
from notifier.web.console import (
    admin,
    dashboard,
    deadlines,
    deliveries,
    enterprises,
    login,
    policies,
)
from notifier.web.console.context import Console, LoginLimiter
from notifier.web.console.session import KeyCheck, Sessions
from notifier.web.forms import secret_keys
from notifier.web.views import STATIC_DIR, Views

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


def console_router(
    runtime: Runtime,
    views: Views,
    *,
    check_key: KeyCheck,
    login_allowed: LoginLimiter,
) -> APIRouter:
    """Every console page, over ``runtime``; ``check_key`` tells whom an API key names."""
    settings = runtime.settings
    keys = secret_keys(
        settings.secret_key.get_secret_value(),
        [k.get_secret_value() for k in settings.old_secret_keys],
    )
    console = Console(
        runtime=runtime,
        views=views,
        sessions=Sessions(keys, secure=settings.public_url.startswith("https://")),
        check_key=check_key,
        login_allowed=login_allowed,
    )
    router = APIRouter(prefix="/console", include_in_schema=False)
    for page in (login, dashboard, policies, deliveries, enterprises, deadlines, admin):
        router.include_router(page.routes(console))
    return router
