"""``/console/deadlines``: a calendar of what falls due and which reminder rungs went out."""


from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from notifier.services.deadlines.operations import report
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser

SHOWN = 200


def calendar(deadlines: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Days in order, each with what happens on it: deadlines due and reminder rungs."""
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for deadline in deadlines:
        days[str(deadline["due_at"])[:10]].append({"kind": "due", "deadline": deadline})
        for rung in deadline["rungs"]:
            days[str(rung["at"])[:10]].append({"kind": "rung", "deadline": deadline, "rung": rung})
    return sorted(days.items())


def routes(console: Console) -> APIRouter:
    """The deadline calendar route."""
    router = APIRouter()
    runtime = console.runtime

    @router.get("/deadlines", response_class=HTMLResponse)
    def deadlines(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.user)]
    ) -> HTMLResponse:
        rows = report(
            runtime.sessions,
            settings=runtime.settings.reminders,
            zone=runtime.settings.zone,
            time_source=runtime.time_source,
            limit=SHOWN,
        )
        return console.page(
            request, "console/deadlines.html", user, deadlines=rows, days=calendar(rows)
        )

    return router
