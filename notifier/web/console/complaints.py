"""``/console/complaints`` (admin): complaint and opt-out rates per month, and logging a firm's
complaint (its phone call or letter), kept with its latest SMS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.errors import InputError
from notifier.services.sms_rules.complaints import log_complaint
from notifier.services.sms_rules.report import monthly_rates
from notifier.web.console.deps import AdminPost, AdminUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

router = APIRouter()


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _page(
    console: ConsoleDep,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    error: str | None = None,
    logged: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    rows = monthly_rates(console.acting(user), months=12)
    return console.page(
        request, "console/complaints.html", user, status_code=status_code,
        months=list(reversed(rows)), error=error, logged=logged, form=form or {},
    )  # fmt: skip


# Plain defs: FastAPI runs them in its thread pool (they read the database).
@router.get("/complaints", response_class=HTMLResponse)
def complaints_page(
    request: Request, user: AdminUser, console: ConsoleDep, logged: str | None = None
) -> HTMLResponse:
    """The monthly rates (newest month first) and the form to log a complaint."""
    return _page(console, request, user, logged=logged if (logged or "").isdigit() else None)


@router.post("/complaints", response_class=HTMLResponse)
def log_complaint_form(
    request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Log a complaint from a firm; a refused one shows the page again with the reason."""
    kept = {name: _text(form, name) for name in ("firm", "text")}
    try:
        logged = log_complaint(console.acting(user), kept["firm"], kept["text"])
    except InputError as exc:
        return _page(console, request, user, status_code=400, error=str(exc), form=kept)
    return RedirectResponse(f"/console/complaints?logged={logged.complaint_id}", 303)
