"""``/console/deadlines``: a calendar of what falls due and which reminder rungs went out."""


from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from notifier.services.deadlines.operations import report
from notifier.web.console.deps import ConsoleDep, SignedIn

SHOWN = 200

router = APIRouter()


def calendar(deadlines: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Days in order, each with what happens on it: deadlines due and reminder rungs."""
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for deadline in deadlines:
        days[str(deadline["due_at"])[:10]].append({"kind": "due", "deadline": deadline})
        for rung in deadline["rungs"]:
            days[str(rung["at"])[:10]].append({"kind": "rung", "deadline": deadline, "rung": rung})
    return sorted(days.items())


@router.get("/deadlines", response_class=HTMLResponse)
def deadlines(request: Request, user: SignedIn, console: ConsoleDep) -> HTMLResponse:
    """What falls due, day by day, with the reminder rungs."""
    rows = report(console.acting(user), limit=SHOWN)
    return console.page(
        request, "console/deadlines.html", user, deadlines=rows, days=calendar(rows)
    )
