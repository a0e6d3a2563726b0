"""``/console/campaigns/{id}/edit``: a campaign that has not run yet, in the form it was made
with (``campaign_form``), filled with what it is now: its schedule turned back into the form's
words (weekly, monthly, working days, once) or, for any other cron line, the advanced cron.
Saving calls ``editing.update``, which refuses once a run has started."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from notifier.domain.channel_names import EMAIL
from notifier.domain.records import CampaignDraft
from notifier.domain.schedules import repeat_of
from notifier.domain.scope import Scope
from notifier.errors import NotFoundError
from notifier.services.campaigns.editing import Editable, editable, update
from notifier.services.context import Context
from notifier.web.console.campaign_form import form_page, posted
from notifier.web.console.compose_form import audience_prefill
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost, StaffUser
from notifier.web.deps import Id

router = APIRouter()


def schedule_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The schedule part of the form for a campaign's listing row (times local, as shown)."""
    fields: dict[str, Any] = {"repeat": "cron", "cron": row["cron"] or "", "at": "09:00",
                              "weekday": "0", "day": "1"}  # fmt: skip
    if row["once_at"]:
        fields.update(repeat="once", once_at=row["once_at"].replace(" ", "T"))
    elif (words := repeat_of(row["cron"])) is not None:
        fields.update(repeat=words.repeat, at=words.at)
        fields.update(weekday=str(words.weekday or 0), day=str(words.day or 1))
    if row["ends_at"]:
        fields["ends_at"] = row["ends_at"][:10]  # the form's end is a day
    return fields


def form_of(campaign: Editable) -> dict[str, Any]:
    """The campaign form filled with the campaign as it is."""
    row = campaign.row
    form: dict[str, Any] = {
        "title": row["title"], "name": row["name"], "url": row["url"] or "",
        "channels": list(row["channels"]),
        "throttle_per_minute": str(row["throttle_per_minute"] or ""),
        "message_class": row.get("message_class") or "notice",
        **audience_prefill(row["audience"]), **schedule_fields(row),
    }  # fmt: skip
    for channel, text in campaign.texts.items():
        form[f"template_{channel}"] = text["body"] or ""
        if channel == EMAIL:
            form["subject_email"] = text["subject"] or ""
    return form


def _editable(console: Console, campaign_id: int, scope: Scope) -> Editable:
    try:
        zone = console.runtime.settings.zone
        return editable(console.runtime.sessions, campaign_id, zone=zone, scope=scope)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such campaign") from None


def _page(campaign_id: int, campaign: Editable) -> dict[str, Any]:
    return {"action": f"/console/campaigns/{campaign_id}/edit", "editing": campaign.row}


@router.get("/campaigns/{campaign_id}/edit", response_class=HTMLResponse)
def edit(request: Request, campaign_id: Id, user: StaffUser, console: ConsoleDep) -> HTMLResponse:
    """The form filled with the campaign (its refusal shown once a run has started)."""
    campaign = _editable(console, campaign_id, user.scope)
    status = 200 if campaign.refusal is None else 400
    return form_page(
        console, request, user, form_of(campaign), status_code=status, error=campaign.refusal,
        **_page(campaign_id, campaign),
    )  # fmt: skip


@router.post("/campaigns/{campaign_id}/edit")
def save(
    request: Request, campaign_id: Id, user: StaffPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Fill from a stored template, preview, or save the edit (``editing.update``)."""
    campaign = _editable(console, campaign_id, user.scope)

    def change(context: Context, draft: CampaignDraft) -> int:
        return update(context, campaign_id, draft)

    return posted(console, request, user, form, change, **_page(campaign_id, campaign))
