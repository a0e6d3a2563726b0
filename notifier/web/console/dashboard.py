"""``/console/``: today's and this week's deliveries by channel and status, failures, and a
warning when the working-day calendar runs out within 60 days."""


from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from notifier.domain.channel_names import CHANNELS
from notifier.services.calendar import working_days as calendar_admin
from notifier.store import deliveries as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import DeliveryStatus
from notifier.web.console.chart import STATUS_COLOURS, stacked_bars
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser

FAILURES_SHOWN = 10


def routes(console: Console) -> APIRouter:
    """The dashboard route."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def dashboard(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.user)]
    ) -> HTMLResponse:
        periods = {"today": console.today_start(), "week": console.week_start()}
        with console.runtime.sessions() as session:
            counts = {
                name: store.channel_status_counts(session, DeliveryFilter(since=since))
                for name, since in periods.items()
            }
            failures = store.list_deliveries(
                session, DeliveryFilter(status=DeliveryStatus.FAILED), limit=FAILURES_SHOWN
            )
            failed = [
                {
                    "id": d.id,
                    "enterprise": d.enterprise.name,
                    "channel": d.channel,
                    "error": d.last_error,
                    "attempts": d.attempts,
                }
                for d in failures
            ]
        runtime = console.runtime
        calendar = calendar_admin.load(runtime.sessions, time_source=runtime.time_source)
        coverage = calendar_admin.coverage(calendar, console.today_start().date())
        charts = {name: stacked_bars(counts[name], CHANNELS) for name in periods}
        totals = {
            name: {
                status: sum(by_status.get(status, 0) for by_status in counts[name].values())
                for status in STATUS_COLOURS
            }
            for name in periods
        }
        return console.page(
            request,
            "console/dashboard.html",
            user,
            charts=charts,
            totals=totals,
            colours=STATUS_COLOURS,
            failures=failed,
            coverage=coverage,
        )

    return router
