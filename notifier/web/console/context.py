"""What every console page is handed: the runtime, the views, the sessions, the key check.

One :class:`Console` is built with the pages app (:func:`make_console`) and hung on its
``app.state``; routes take it by dependency (``notifier.web.console.deps``), never a global.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from notifier.domain.xlsx_export import XLSX_MEDIA_TYPE
from notifier.guards.sign_in import ClientAddress, FailedAttempts
from notifier.runtime import Runtime
from notifier.services.access.api_keys import authenticate
from notifier.services.context import Context
from notifier.web.console.recent import Recent
from notifier.web.console.session import ConsoleUser, Identity, KeyCheck, Sessions
from notifier.web.export_pool import ExportBusy, ExportJob, ExportPool
from notifier.web.forms import deployment_keys
from notifier.web.views import Views


@dataclass(frozen=True)
class Console:
    """The console's parts."""

    runtime: Runtime
    views: Views
    sessions: Sessions
    check_key: KeyCheck
    # The API's count of failed keys per client address: the console shares it.
    failed_attempts: FailedAttempts
    # Where a request comes from (X-Forwarded-For only from the trusted proxies).
    client_address: ClientAddress
    # The child process that builds large exports (the web app's, shared with the API).
    exports: ExportPool
    # The dashboard's delivery counts, kept a few seconds (see ``recent``).
    recent: Recent

    def page(
        self,
        request: Request,
        name: str,
        user: ConsoleUser,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A console page for a signed-in user."""
        # The content settings: the forms' message class hint names the opt-out and hours.
        context.setdefault("content_settings", self.runtime.settings.content)
        return self.views.page(
            request, name, status_code=status_code, user=user, csrf=user.csrf, **context
        )

    def acting(self, user: ConsoleUser) -> Context:
        """The context of an operation ``user`` asks for here (audited by their name or their
        key's prefix, console)."""
        return self.runtime.context(user.actor)

    def not_found(self, request: Request) -> HTMLResponse:
        """The "not found" page."""
        return self.views.page(request, "error.html", status_code=404, key="error.not_found")

    def busy(self, request: Request) -> HTMLResponse:
        """The "export busy, try again shortly" page (503)."""
        return self.views.page(request, "error.html", status_code=503, key="export_busy.busy")

    def download(
        self, request: Request, job: ExportJob, filename: str, media_type: str = XLSX_MEDIA_TYPE
    ) -> Response:
        """The file ``job`` builds in the export child process (out of this process's GIL),
        streamed as ``filename``; the "busy" page when another export holds the child."""
        try:
            body = self.exports.build(job)
        except ExportBusy:
            return self.busy(request)
        disposition = f'attachment; filename="{filename}"'
        return StreamingResponse(
            body, media_type=media_type, headers={"Content-Disposition": disposition}
        )

    def today_start(self) -> datetime:
        """Midnight of today in the deployment's zone."""
        zone = self.runtime.settings.zone
        now = self.runtime.time_source.now().astimezone(zone)
        return now.replace(hour=0, minute=0, second=0, microsecond=0)

    def week_start(self) -> datetime:
        """Monday 00:00 of this week in the deployment's zone."""
        today = self.today_start()
        return today - timedelta(days=today.weekday())


def api_key_check(runtime: Runtime, keys: list[str]) -> KeyCheck:
    """Whom an API key names, checked as the API checks it (hashed, revocable)."""

    def check(key: str) -> Identity | None:
        principal = authenticate(
            runtime.sessions, key, peppers=keys, time_source=runtime.time_source
        )
        if principal is None:
            return None
        return Identity(role=principal.role.value, name=principal.prefix, key_id=principal.key_id)

    return check


# How old the dashboard's counts may be: fresh enough for a person, and one scan serves every
# clerk who opens the dashboard within it.
DASHBOARD_SECONDS = 5.0


def make_console(
    runtime: Runtime,
    views: Views,
    *,
    failed_attempts: FailedAttempts,
    client_address: ClientAddress,
    exports: ExportPool,
) -> Console:
    """The console over ``runtime``; failed sign-ins count in ``failed_attempts`` against
    ``client_address``; large exports are built by ``exports``."""
    settings = runtime.settings
    keys = deployment_keys(settings)
    return Console(
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
        exports=exports,
        recent=Recent(DASHBOARD_SECONDS),
    )
