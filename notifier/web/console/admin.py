"""``/console/admin``: API keys, the settings in effect (secrets masked), the audit log."""


import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from notifier.config import Settings
from notifier.store import apikeys, audit
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser

MASK = "********"
AUDIT_SHOWN = 100
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?P<tail>@)", re.I)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}\g<tail>", value)
    return value


def settings_in_effect(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (name, value) with secrets and URL passwords masked."""
    # JSON mode writes each SecretStr as asterisks; URLs may still carry a password.
    data = _masked(settings.model_dump(mode="json"))
    return [
        (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for name, value in sorted(data.items())
    ]


def routes(console: Console) -> APIRouter:
    """The admin route."""
    router = APIRouter()

    @router.get("/admin", response_class=HTMLResponse)
    def admin(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.admin)]
    ) -> HTMLResponse:
        with console.runtime.sessions() as session:
            keys = apikeys.listed(session)
            entries = audit.page(session, limit=AUDIT_SHOWN)
            return console.page(
                request,
                "console/admin.html",
                user,
                settings=settings_in_effect(console.runtime.settings),
                keys=keys,
                audit=entries,
            )

    return router
