"""``/console/``: today's and this week's deliveries by channel and status, the district's
reach across the open policies, failures, and a warning when the working-day calendar runs
out within 60 days."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from notifier.domain.channel_names import CHANNELS
from notifier.services.calendar import working_days as calendar_admin
from notifier.store import deliveries as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import DeliveryStatus
from notifier.web.console.chart import STATUS_COLOURS, stacked_bars
from notifier.web.console.deps import ConsoleDep, SignedIn
from notifier.web.console.reach_report import district

FAILURES_SHOWN = 10

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: SignedIn, console: ConsoleDep) -> HTMLResponse:
    """Counts by channel and status (today, this week), the open policies' reach, the latest
    failures, the calendar."""
    periods = {"today": console.today_start(), "week": console.week_start()}
    runtime = console.runtime
    context = console.acting(user)

    def count() -> tuple[dict[str, dict[str, dict[str, int]]], list[dict[str, Any]]]:
        with runtime.sessions() as session:
            # One pass for both periods, over the deliveries the user's scope counts.
            counts = store.channel_status_counts_since(session, periods, scope=user.scope)
        return counts, district(context)  # one grouped query over the stored states

    # The figures are at most a few seconds old: one scan serves every clerk meanwhile.
    counts, reach = console.recent.get(("counts", user.scope, *periods.values()), count)
    with runtime.sessions() as session:
        failures = store.list_deliveries(
            session,
            DeliveryFilter(status=DeliveryStatus.FAILED, scope=user.scope),
            limit=FAILURES_SHOWN,
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
        district=reach,
    )
