"""``/console/deadlines``: a calendar of what falls due and which reminder rungs went out; one
deadline with the firms that have not marked it done (paged, exported, marked done by staff
on a firm's behalf)."""


import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.domain.paging import page_number
from notifier.errors import InputError, NotFoundError
from notifier.services.deadlines.operations import mark_done, report
from notifier.services.deadlines.outstanding import not_done_all, not_done_page
from notifier.web import i18n
from notifier.web.console import deadline_export
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost, StaffUser
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id
from notifier.web.views import language_of
from notifier.web.workbook_export import WorkbookExport

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
PAGE = 50

router = APIRouter()


def calendar(deadlines: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Days in order, each with what happens on it: deadlines due and reminder rungs."""
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for deadline in deadlines:
        days[str(deadline["due_at"])[:10]].append({"kind": "due", "deadline": deadline})
        for rung in deadline["rungs"]:
            days[str(rung["at"])[:10]].append({"kind": "rung", "deadline": deadline, "rung": rung})
    return sorted(days.items())


def month_of(raw: str | None, today: date) -> date:
    """The month a ``?month=2027-03`` value names (its first day); anything else is this one."""
    match = _MONTH.fullmatch((raw or "").strip())
    if match and 2000 <= int(match[1]) <= 2100 and 1 <= int(match[2]) <= 12:
        return date(int(match[1]), int(match[2]), 1)
    return today.replace(day=1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


@router.get("/deadlines", response_class=HTMLResponse)
def deadlines(
    request: Request, user: StaffUser, console: ConsoleDep, month: str | None = None
) -> HTMLResponse:
    """The deadlines due in one month (this one unless ``month`` names another), day by day,
    with their reminder rungs; links to the month before and after."""
    zone = console.runtime.settings.zone
    today = console.runtime.time_source.now().astimezone(zone).date()
    first = month_of(month, today)
    after = _next_month(first)
    before = (first - timedelta(days=1)).replace(day=1)

    def start(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone)

    rows = report(console.acting(user), due_from=start(first), due_before=start(after))
    return console.page(
        request, "console/deadlines.html", user, deadlines=rows, days=calendar(rows),
        month=first, previous_month=f"{before:%Y-%m}", next_month=f"{after:%Y-%m}",
        this_month=f"{today:%Y-%m}",
    )  # fmt: skip


def deadline_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    deadline_id: int,
    *,
    number: int = 1,
    status_code: int = 200,
    error: str | None = None,
    note: str | None = None,
) -> HTMLResponse:
    """One deadline, its counts and page ``number`` of the firms that have not done it."""
    try:
        standing, firms = not_done_page(
            console.acting(user), deadline_id, number=number, size=PAGE
        )
    except NotFoundError:
        return console.not_found(request)
    return console.page(
        request, "console/deadline.html", user, status_code=status_code,
        deadline=standing, firms=firms.rows, pager=firms, error=error, note=note,
    )  # fmt: skip


@router.get("/deadlines/{deadline_id}", response_class=HTMLResponse)
def one(
    request: Request,
    deadline_id: Id,
    user: StaffUser,
    console: ConsoleDep,
    page: str | None = None,
    note: str | None = None,
) -> HTMLResponse:
    """One deadline and the firms that have not marked it done, a page at a time."""
    shown = note if note == "done" else None
    return deadline_page(
        console, request, user, deadline_id, number=page_number(page), note=shown
    )


@router.get("/deadlines/{deadline_id}/not-done.xlsx")
def export(request: Request, deadline_id: Id, user: StaffUser, console: ConsoleDep) -> Response:
    """Every firm that has not marked the deadline done, as XLSX in the page's language."""
    try:
        standing, firms = not_done_all(console.acting(user), deadline_id)
    except NotFoundError:
        return console.not_found(request)
    t = i18n.translator(language_of(request))
    job = WorkbookExport(
        # the due time and the last send as dates, days left as a number
        rows=list(deadline_export.rows(standing, firms, t)),
        columns=deadline_export.COLUMNS,
        title="not-done",
        headers=deadline_export.headers(t),
        zone=console.runtime.settings.zone,
    )
    return console.download(request, job, f"deadline-{deadline_id}-not-done.xlsx")


@router.post("/deadlines/{deadline_id}/done")
def done(
    request: Request, deadline_id: Id, user: StaffPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Mark the deadline done on a firm's behalf (audited ``deadline.done`` naming the
    clerk); the firm gets no more reminders for it."""
    code = str(form.get("credit_code") or "")
    number = page_number(str(form.get("page") or ""))
    try:
        mark_done(console.acting(user), deadline_id, code)
    except NotFoundError as exc:
        if exc.field == "deadline":
            return console.not_found(request)
        return deadline_page(
            console, request, user, deadline_id, number=number, status_code=404, error=str(exc)
        )
    except InputError as exc:
        return deadline_page(
            console, request, user, deadline_id, number=number, status_code=400, error=str(exc)
        )
    return RedirectResponse(f"/console/deadlines/{deadline_id}?note=done&page={number}", 303)
