"""``/console/calendar`` (admin): the working-day calendar. The years entered, one year's
holidays and worked weekends (add, remove), marking a year complete, and the State Council's
yearly notice pasted or typed one holiday a line, previewed, then entered in one step."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.domain.holiday_notice import read_notice
from notifier.domain.workdays import DayKind
from notifier.errors import InputError
from notifier.services.calendar import working_days as calendar_admin
from notifier.web.console.context import Console
from notifier.web.console.deps import AdminPost, AdminUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

NOTES = ("entered", "set", "removed", "complete", "incomplete")
NOTICE_EXAMPLE = (
    "元旦 2027-01-01 至 2027-01-03\n"
    "春节 2027-02-06 至 2027-02-13，调休上班 2027-02-14、2027-02-20"
)

router = APIRouter()


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _year_or_none(text: str) -> int | None:
    """The year a refused form was about, to show it again; None when it is no year."""
    try:
        return calendar_admin.read_year(text)
    except InputError:
        return None


@dataclass(frozen=True)
class _Calendar:
    """The page and the work behind its forms (run in a worker thread: they use the database)."""

    console: Console

    def default_year(self) -> int:
        """The year to enter next while the warning is up, else this year."""
        covered = self.coverage()
        return covered.missing_year if covered.warn else covered.today.year

    def coverage(self) -> calendar_admin.Coverage:
        runtime = self.console.runtime
        calendar = calendar_admin.load(runtime.sessions, time_source=runtime.time_source)
        return calendar_admin.coverage(calendar, self.console.today_start().date())

    def page(
        self,
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
        runtime = self.console.runtime
        shown = year if year is not None else self.default_year()
        return self.console.page(
            request,
            "console/calendar.html",
            user,
            status_code=status_code,
            year=shown,
            years=calendar_admin.years(runtime.sessions, time_source=runtime.time_source),
            days=calendar_admin.days(runtime.sessions, shown, time_source=runtime.time_source),
            coverage=self.coverage(),
            error=error,
            note=note if note in NOTES else None,
            form=form or {"year": str(shown), "complete": "1"},
            preview=preview,
            example=NOTICE_EXAMPLE,
        )

    def attempt(
        self,
        request: Request,
        user: ConsoleUser,
        work: Callable[[], Response],
        *,
        form: dict[str, str] | None = None,
    ) -> Response:
        """Do ``work``; a refused input shows the page again with the error and the form."""
        try:
            return work()
        except InputError as exc:
            error = str(exc)
        year = _year_or_none((form or {}).get("year", ""))
        return self.page(request, user, year, status_code=400, error=error, form=form)

    def notice(self, request: Request, user: ConsoleUser, kept: dict[str, str]) -> Response:
        """Read the notice; show it (preview) or enter it (save)."""
        year = calendar_admin.read_year(kept["year"])
        read = read_notice(kept["notice"], year=year)
        if kept["action"] != "save":
            preview = [
                {
                    "name": name,
                    "holidays": [e.day for e in entries if e.kind is DayKind.HOLIDAY],
                    "workdays": [e.day for e in entries if e.kind is DayKind.WORKDAY],
                }
                for name, entries in read.holidays().items()
            ]
            return self.page(request, user, year, form=kept, preview=preview)
        context = self.console.acting(user)
        calendar_admin.enter_notice(context, read, complete=kept["complete"] == "1")
        return _done(year, "entered")

    def set_day(self, user: ConsoleUser, kept: dict[str, str]) -> Response:
        day = calendar_admin.read_day(kept["date"])
        kind = calendar_admin.read_kind(kept["kind"])
        calendar_admin.set_day(self.console.acting(user), day, kind, name=kept["name"])
        return _done(day.year, "set")

    def remove_day(self, user: ConsoleUser, value: str) -> Response:
        day = calendar_admin.read_day(value)
        calendar_admin.remove_day(self.console.acting(user), day)
        return _done(day.year, "removed")

    def mark_year(self, user: ConsoleUser, value: str, complete: bool) -> Response:
        year = calendar_admin.read_year(value)
        calendar_admin.mark_year(self.console.acting(user), year, complete=complete)
        return _done(year, "complete" if complete else "incomplete")


def _done(year: int, note: str) -> Response:
    return RedirectResponse(f"/console/calendar?year={year}&note={note}", 303)


def calendar_pages(console: ConsoleDep) -> _Calendar:
    """The calendar page and its forms' work, over the request's console."""
    return _Calendar(console)


CalendarDep = Annotated[_Calendar, Depends(calendar_pages)]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    user: AdminUser,
    calendar: CalendarDep,
    year: str | None = None,
    note: str | None = None,
) -> HTMLResponse:
    """The calendar page for ``year`` (else the year to enter next, or this year)."""
    try:
        chosen = calendar_admin.read_year(year) if year is not None else None
    except InputError as exc:
        return calendar.page(request, user, None, status_code=400, error=str(exc))
    return calendar.page(request, user, chosen, note=note)


# Plain defs: FastAPI runs them in its thread pool; the form is read by posted_form.
@router.post("/calendar/notice", response_class=HTMLResponse)
def enter_notice(
    request: Request, user: AdminPost, form: PostedForm, calendar: CalendarDep
) -> Response:
    """Preview the State Council's notice, or enter it."""
    kept = {k: _text(form, k).strip() for k in ("year", "notice", "complete", "action")}
    work = partial(calendar.notice, request, user, kept)
    return calendar.attempt(request, user, work, form=kept)


@router.post("/calendar/days", response_class=HTMLResponse)
def add_day(request: Request, user: AdminPost, form: PostedForm, calendar: CalendarDep) -> Response:
    """Set one day a holiday or a worked weekend."""
    kept = {k: _text(form, k).strip() for k in ("date", "kind", "name", "year")}
    work = partial(calendar.set_day, user, kept)
    return calendar.attempt(request, user, work, form=kept)


@router.post("/calendar/days/{day}/remove", response_class=HTMLResponse)
def remove_day(request: Request, day: str, user: AdminPost, calendar: CalendarDep) -> Response:
    """Remove one day's entry."""
    return calendar.attempt(request, user, partial(calendar.remove_day, user, day))


@router.post("/calendar/years/{year}", response_class=HTMLResponse)
def mark_year(
    request: Request, year: str, user: AdminPost, form: PostedForm, calendar: CalendarDep
) -> Response:
    """Mark a year complete (every holiday entered) or not."""
    complete = _text(form, "complete") == "1"
    work = partial(calendar.mark_year, user, year, complete)
    return calendar.attempt(request, user, work)
