"""``/console/campaigns``: the campaign list (campaigns are made in the form,
``campaign_form``), one campaign with its runs and a live progress bar, pause, resume, cancel,
a preview for one enterprise, and its edit and test-send forms (``campaign_edit``,
``campaign_test_send``); every change audited as the API audits it."""

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from notifier.domain.paging import page_number
from notifier.domain.schedules import repeat_of
from notifier.errors import NotFoundError, NotifierError
from notifier.services.access.users import phone_of
from notifier.services.approval.listings import approval_state
from notifier.services.campaigns.operations import campaign_row, campaigns_in, schedule_of
from notifier.services.campaigns.preview import preview_campaign
from notifier.services.context import Context
from notifier.services.delivery.progress import campaign_runs, current_run
from notifier.store import campaigns as store
from notifier.store.paging import paged
from notifier.web.console.campaign_changes import CHANGES, campaign_as_row, change_campaign
from notifier.web.console.context import Console
from notifier.web.console.deps import CampaignUser, ConsoleDep, StaffPost
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id

NOTES = ("created", "updated", "pause", "resume", "cancel")
# A campaign can be edited until its first run (editing.refusal says so again when saving).
ENDED = ("cancelled", "finished")
PAGE = 50

router = APIRouter()


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
    number: int = 1,
) -> HTMLResponse:
    """Page ``number`` of the campaign list, each with its next run."""
    runtime, zone = console.runtime, console.runtime.settings.zone
    now = runtime.time_source.now()
    with runtime.sessions() as session:
        shown = store.newest_first(campaigns_in(session, user.scope))
        found = paged(session, shown, number=number, size=PAGE)
        rows = []
        for campaign in found.rows:
            upcoming = schedule_of(campaign).next_run(now)
            row = campaign_row(campaign, zone)
            rows.append({**row, "next_run": upcoming, "repeat": repeat_of(row["cron"])})
    return console.page(request, "console/campaigns.html", user, campaigns=rows, pager=found)


def campaign_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    campaign_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """One campaign: schedule, runs with counts, the current run's progress, the actions (edit
    while no run has started), the test-send form (to the clerk's own phone)."""
    runtime = console.runtime
    try:
        row = campaign_as_row(runtime, campaign_id, user.scope)
    except NotFoundError:
        return console.not_found(request)
    row["repeat"] = repeat_of(row["cron"])  # shown in words when the form's words made it
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    current = current_run(runs)
    phone = phone_of(runtime.sessions, user.user_id)
    approval = approval_state(runtime.sessions, campaign_id=campaign_id)
    defaults = {"note": None, "error": None, "renderings": None, "code": "", "tested": None,
                "addresses": {"sms": phone} if phone else {}, "test_firm": ""}  # fmt: skip
    return console.page(
        request, "console/campaign.html", user, status_code=status_code,
        campaign=row, runs=runs, current=current, approval=approval,
        editable=not runs and row["status"] not in ENDED, **{**defaults, **extra},
    )  # fmt: skip


@router.get("/campaigns", response_class=HTMLResponse)
def listing(
    request: Request, user: CampaignUser, console: ConsoleDep, page: str | None = None
) -> HTMLResponse:
    """The campaigns, a page at a time, each with its next run."""
    return listing_page(console, request, user, number=page_number(page))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def one(
    request: Request,
    campaign_id: Id,
    user: CampaignUser,
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
def progress(campaign_id: Id, user: CampaignUser, console: ConsoleDep) -> JSONResponse:
    """The runs and the current one's progress, for the page's live bar (404 outside the
    user's scope)."""
    runtime = console.runtime
    try:
        campaign_as_row(runtime, campaign_id, user.scope)
    except NotFoundError:
        return JSONResponse({"detail": "no such campaign"}, status_code=404)
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    current = current_run(runs)
    return JSONResponse(
        {
            "campaign_id": campaign_id,
            "current": current.as_dict() if current else None,
            "runs": [run.as_dict() for run in runs],
        }
    )


@router.post("/campaigns/{campaign_id}/{action}")
def change(
    request: Request, campaign_id: Id, action: str, user: StaffPost, console: ConsoleDep
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
