"""``/console/calendar`` (admin): the working-day calendar. The years entered, one year's
holidays and worked weekends (add, remove), marking a year complete, and the State Council's
yearly notice pasted or typed one holiday a line, previewed, then entered in one step."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier import calendar_admin
from notifier.calendar_admin import Editor
from notifier.calendar_notice import read_notice
from notifier.errors import InputError
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser

NOTES = ("entered", "set", "removed", "complete", "incomplete")
NOTICE_EXAMPLE = (
    "元旦 2027-01-01 至 2027-01-03\n"
    "春节 2027-02-06 至 2027-02-13，调休上班 2027-02-14、2027-02-20"
)


def _editor(user: ConsoleUser) -> Editor:
    return Editor(name=user.name, role=user.role, source="console")


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _year_or_none(text: str) -> int | None:
    """The year a refused form was about, to show it again; None when it is no year."""
    try:
        return calendar_admin.read_year(text)
    except InputError:
        return None


def routes(console: Console) -> APIRouter:
    """The calendar page and its forms."""
    router = APIRouter()
    runtime = console.runtime

    def default_year() -> int:
        calendar = calendar_admin.load(runtime.sessions, clock=runtime.clock)
        today = console.today_start().date()
        covered = calendar_admin.coverage(calendar, today)
        # The year to enter next while the warning is up, else this year.
        return covered.missing_year if covered.warn else today.year

    def page(
        request: Request,
        user: ConsoleUser,
        year: int | None,
        *,
        status_code: int = 200,
        error: str | None = None,
        note: str | None = None,
        form: dict[str, str] | None = None,
        preview: list[dict[str, Any]] | None = None,
    ) -> HTMLResponse:
        shown = year if year is not None else default_year()
        years = calendar_admin.years(runtime.sessions, clock=runtime.clock)
        today = console.today_start().date()
        calendar = calendar_admin.load(runtime.sessions, clock=runtime.clock)
        return console.page(
            request,
            "console/calendar.html",
            user,
            status_code=status_code,
            year=shown,
            years=years,
            days=calendar_admin.days(runtime.sessions, shown, clock=runtime.clock),
            coverage=calendar_admin.coverage(calendar, today),
            error=error,
            note=note if note in NOTES else None,
            form=form or {"year": str(shown), "complete": "1"},
            preview=preview,
            example=NOTICE_EXAMPLE,
        )

    def done(year: int, note: str) -> Response:
        return RedirectResponse(f"/console/calendar?year={year}&note={note}", 303)

    @router.get("/calendar", response_class=HTMLResponse)
    def calendar_page(
        request: Request,
        user: Annotated[ConsoleUser, Depends(console.sessions.admin)],
        year: str | None = None,
        note: str | None = None,
    ) -> HTMLResponse:
        try:
            chosen = calendar_admin.read_year(year) if year is not None else None
        except InputError as exc:
            return page(request, user, None, status_code=400, error=str(exc))
        return page(request, user, chosen, note=note)

    def notice(user: ConsoleUser, kept: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
        """Read the notice; enter it unless only previewed. The year and the days read."""
        year = calendar_admin.read_year(kept["year"])
        read = read_notice(kept["notice"], year=year)
        preview = [
            {
                "name": name,
                "holidays": [e.day for e in entries if e.kind == "holiday"],
                "workdays": [e.day for e in entries if e.kind == "workday"],
            }
            for name, entries in read.holidays().items()
        ]
        if kept["action"] == "save":
            calendar_admin.enter_notice(
                runtime.sessions,
                read,
                complete=kept["complete"] == "1",
                editor=_editor(user),
                clock=runtime.clock,
            )
        return year, preview

    @router.post("/calendar/notice", response_class=HTMLResponse)
    async def enter_notice(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.admin_posted)]
    ) -> Response:
        form = await request.form()
        kept = {k: _text(form, k).strip() for k in ("year", "notice", "complete", "action")}
        year = _year_or_none(kept["year"])
        try:
            year, preview = await run_in_threadpool(notice, user, kept)
        except InputError as exc:
            return await run_in_threadpool(
                lambda: page(request, user, year, status_code=400, error=str(exc), form=kept)
            )
        if kept["action"] == "save":
            return done(year, "entered")
        return await run_in_threadpool(
            lambda: page(request, user, year, form=kept, preview=preview)
        )

    def set_day(user: ConsoleUser, kept: dict[str, str]) -> date:
        day = calendar_admin.read_day(kept["date"])
        kind = calendar_admin.read_kind(kept["kind"])
        calendar_admin.set_day(
            runtime.sessions, day, kind, name=kept["name"], editor=_editor(user),
            clock=runtime.clock,
        )
        return day

    @router.post("/calendar/days", response_class=HTMLResponse)
    async def add_day(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.admin_posted)]
    ) -> Response:
        form = await request.form()
        kept = {k: _text(form, k).strip() for k in ("date", "kind", "name", "year")}
        try:
            day = await run_in_threadpool(set_day, user, kept)
        except InputError as exc:
            year = _year_or_none(kept["year"])
            return await run_in_threadpool(
                lambda: page(request, user, year, status_code=400, error=str(exc), form=kept)
            )
        return done(day.year, "set")

    def remove(user: ConsoleUser, value: str) -> date:
        day = calendar_admin.read_day(value)
        calendar_admin.remove_day(runtime.sessions, day, editor=_editor(user), clock=runtime.clock)
        return day

    @router.post("/calendar/days/{day}/remove", response_class=HTMLResponse)
    async def remove_day(
        request: Request,
        day: str,
        user: Annotated[ConsoleUser, Depends(console.sessions.admin_posted)],
    ) -> Response:
        try:
            removed = await run_in_threadpool(remove, user, day)
        except InputError as exc:
            return await run_in_threadpool(
                lambda: page(request, user, None, status_code=400, error=str(exc))
            )
        return done(removed.year, "removed")

    def mark(user: ConsoleUser, value: str, complete: bool) -> int:
        year = calendar_admin.read_year(value)
        calendar_admin.mark_year(
            runtime.sessions, year, complete=complete, editor=_editor(user), clock=runtime.clock
        )
        return year

    @router.post("/calendar/years/{year}", response_class=HTMLResponse)
    async def mark_year(
        request: Request,
        year: str,
        user: Annotated[ConsoleUser, Depends(console.sessions.admin_posted)],
    ) -> Response:
        form = await request.form()
        complete = _text(form, "complete") == "1"
        try:
            marked = await run_in_threadpool(mark, user, year, complete)
        except InputError as exc:
            return await run_in_threadpool(
                lambda: page(request, user, None, status_code=400, error=str(exc))
            )
        return done(marked, "complete" if complete else "incomplete")

    return router
