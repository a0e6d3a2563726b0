"""What every console page is handed: the runtime, the views, the sessions, the key check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from notifier.guards.sign_in import ClientAddress, FailedAttempts
from notifier.runtime import Runtime
from notifier.web.console.session import ConsoleUser, KeyCheck, Sessions
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
        return self.views.page(
            request, name, status_code=status_code, user=user, csrf=user.csrf, **context
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
