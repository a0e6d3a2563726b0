"""``/console/campaigns``: the campaign list, creating one from its campaign file (the same
reader as the CLI and the API), one campaign with its runs and a live progress bar, pause,
resume, cancel and a preview for one enterprise; every change audited as the API audits it."""

import dataclasses
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from notifier.domain.paging import page_number
from notifier.domain.schedules import repeat_of
from notifier.errors import InputError, NotFoundError, NotifierError, TemplateError
from notifier.services.campaigns.operations import campaign_row, schedule_of
from notifier.services.campaigns.preview import preview_campaign
from notifier.services.context import Context
from notifier.services.delivery.progress import campaign_runs, current_run
from notifier.store import campaigns as store
from notifier.store.paging import paged
from notifier.web.console.campaign_changes import (
    CHANGES,
    campaign_as_row,
    change_campaign,
    create_from_text,
)
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedIn, SignedPost
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id

# Package data (docs/examples/campaign.json is the same file, as a test checks).
EXAMPLE = resources.files("notifier.web.console") / "examples" / "campaign.json"
NOTES = ("created", "pause", "resume", "cancel")
PAGE = 50

router = APIRouter()


def example_text() -> str:
    """The working example campaign file the create form starts from."""
    return EXAMPLE.read_text(encoding="utf-8")


def previewed(context: Context, campaign_id: int, code: str) -> dict[str, Any]:
    """Each channel's message for the enterprise (nothing sent), or the one-line refusal."""
    try:
        renderings = preview_campaign(context, campaign_id, code.strip())
    except NotifierError as exc:
        return {"code": code, "error": str(exc)}
    return {"code": code, "renderings": {c: dataclasses.asdict(r) for c, r in renderings.items()}}


def listing_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    error: str | None = None,
    text: str | None = None,
    number: int = 1,
) -> HTMLResponse:
    """Page ``number`` of the campaign list and the create form (the example file, or the
    refused text kept)."""
    runtime, zone = console.runtime, console.runtime.settings.zone
    now = runtime.time_source.now()
    with runtime.sessions() as session:
        found = paged(session, store.newest_first(), number=number, size=PAGE)
        rows = []
        for campaign in found.rows:
            upcoming = schedule_of(campaign).next_run(now)
            row = campaign_row(campaign, zone)
            rows.append({**row, "next_run": upcoming, "repeat": repeat_of(row["cron"])})
    return console.page(
        request, "console/campaigns.html", user, status_code=status_code,
        campaigns=rows, pager=found, error=error, text=example_text() if text is None else text,
    )


def campaign_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    campaign_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """One campaign: schedule, runs with counts, the current run's progress, the actions."""
    runtime = console.runtime
    try:
        row = campaign_as_row(runtime, campaign_id)
    except NotFoundError:
        return console.not_found(request)
    row["repeat"] = repeat_of(row["cron"])  # shown in words when the form's words made it
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    current = current_run(runs)
    return console.page(
        request, "console/campaign.html", user, status_code=status_code,
        campaign=row, runs=runs, current=current,
        **{"note": None, "error": None, "renderings": None, "code": "", **extra},
    )


@router.get("/campaigns", response_class=HTMLResponse)
def listing(
    request: Request, user: SignedIn, console: ConsoleDep, page: str | None = None
) -> HTMLResponse:
    """The campaigns, a page at a time, each with its next run, and the create form."""
    return listing_page(console, request, user, number=page_number(page))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def one(
    request: Request,
    campaign_id: Id,
    user: SignedIn,
    console: ConsoleDep,
    note: str | None = None,
    enterprise: str | None = None,
) -> HTMLResponse:
    """One campaign, with a preview for one enterprise when ``enterprise`` names it."""
    extra: dict[str, Any] = {"note": note if note in NOTES else None}
    if enterprise:
        context = console.acting(user)
        extra.update(previewed(context, campaign_id, enterprise))
    return campaign_page(console, request, user, campaign_id, **extra)


@router.get("/campaigns/{campaign_id}/progress")
def progress(campaign_id: Id, _: SignedIn, console: ConsoleDep) -> JSONResponse:
    """The runs and the current one's progress, for the page's live bar."""
    runtime = console.runtime
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    current = current_run(runs)
    return JSONResponse(
        {
            "campaign_id": campaign_id,
            "current": current.as_dict() if current else None,
            "runs": [run.as_dict() for run in runs],
        }
    )


@router.post("/campaigns")
def create(request: Request, user: SignedPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Create a campaign from its file's text (refused: the form again, the text kept)."""
    text = str(form.get("campaign") or "").replace("\r\n", "\n")
    try:
        made = create_from_text(console.runtime, user.principal, text)
    except (InputError, TemplateError) as exc:
        return listing_page(console, request, user, status_code=400, error=str(exc), text=text)
    return RedirectResponse(f"/console/campaigns/{made}?note=created", 303)


@router.post("/campaigns/{campaign_id}/{action}")
def change(
    request: Request, campaign_id: Id, action: str, user: SignedPost, console: ConsoleDep
) -> Response:
    """Pause, resume or cancel the campaign."""
    if action not in CHANGES:
        return console.not_found(request)
    try:
        change_campaign(console.runtime, user.principal, campaign_id, action)
    except NotifierError as exc:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return campaign_page(
            console, request, user, campaign_id, status_code=status, error=str(exc)
        )
    return RedirectResponse(f"/console/campaigns/{campaign_id}?note={action}", 303)
