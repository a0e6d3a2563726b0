"""``/api/v1/campaigns``: create, list, show, preview, test-send, pause, resume, cancel,
progress.

The same pipeline functions as ``notifier campaigns``. The body of a create is the campaign
file (docs/formats.md, "Campaign file"), checked by the same reader; ``credit_codes_file`` names
a file on the server and is refused here: list the codes in ``targets.credit_codes``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from notifier.errors import InputError
from notifier.inputs.api import TestSendIn
from notifier.inputs.campaign import CampaignFile
from notifier.inputs.campaign_file import parse_campaign
from notifier.inputs.enterprise_csv import read_channel_word
from notifier.inputs.fields import CREDIT_CODE
from notifier.inputs.json_file import read_json_file
from notifier.runtime import Runtime
from notifier.services.campaigns.operations import (
    Changed,
    campaign_row,
    cancel,
    create_campaign,
    get_campaign,
)
from notifier.services.campaigns.operations import pause as pause_campaign
from notifier.services.campaigns.operations import resume as resume_campaign
from notifier.services.campaigns.preview import preview_campaign, send_test_message
from notifier.services.delivery.progress import campaign_runs, current_run
from notifier.store import campaigns as store
from notifier.web.api.bodies import read_body
from notifier.web.api.schemas import (
    CampaignChanged,
    CampaignDetail,
    CampaignOut,
    CampaignProgress,
    Created,
    RenderingOut,
    TestSent,
)
from notifier.web.auditing import record_change
from notifier.web.auth import Principal, Staff
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

def campaign_as_row(runtime: Runtime, campaign_id: int) -> dict[str, Any]:
    """The campaign as listings show it (raises NotFoundError for an unknown id)."""
    with runtime.sessions() as session:
        return campaign_row(get_campaign(session, campaign_id), runtime.settings.zone)


def create_from_file(runtime: Runtime, principal: Principal, content: bytes) -> dict[str, Any]:
    """Create the campaign a campaign file's bytes describe, audited (the API's and the
    console's one way in); InputError or TemplateError naming the field, nothing stored."""
    data = read_json_file(content)
    if isinstance(data, dict) and "credit_codes_file" in data:
        raise InputError(
            "credit_codes_file: 通过 API 请在 targets.credit_codes 中列出信用代码 / over the API, "
            "list the credit codes in targets.credit_codes",
            field="credit_codes_file",
        )
    draft = parse_campaign(data, zone=runtime.settings.zone, now=runtime.time_source.now())
    campaign_id = create_campaign(runtime.sessions, draft, time_source=runtime.time_source)
    after = campaign_as_row(runtime, campaign_id)
    record_change(
        runtime,
        principal,
        action="campaign.create",
        target_type="campaign",
        target_id=campaign_id,
        after=after,
    )
    return {"id": campaign_id, "name": after["name"], "status": after["status"]}


@router.post(
    "",
    status_code=201,
    response_model=Created,
    openapi_extra=read_body(CampaignFile),
    summary="创建活动 / create a campaign",
)
async def create(request: Request, runtime: RuntimeDep, principal: Staff) -> dict[str, Any]:
    """Create the campaign the body describes (its inline templates saved, checked first)."""
    content = await request.body()
    return await run_in_threadpool(create_from_file, runtime, principal, content)


@router.get("", response_model=list[CampaignOut], summary="活动列表 / campaigns")
def list_campaigns(runtime: RuntimeDep, _: Staff) -> list[dict[str, Any]]:
    """Every campaign, newest first."""
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        return [campaign_row(c, zone) for c in store.list_all(session)]


@router.get("/{campaign_id}", response_model=CampaignDetail, summary="活动详情 / one campaign")
def show(runtime: RuntimeDep, _: Staff, campaign_id: Id) -> dict[str, Any]:
    """One campaign and its runs, each with counts by status, rate a minute and ETA."""
    row = campaign_as_row(runtime, campaign_id)
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    return {**row, "runs": [run.as_dict() for run in runs]}


@router.get(
    "/{campaign_id}/progress",
    response_model=CampaignProgress,
    summary="当前运行进度 / the current run's progress",
)
def progress(runtime: RuntimeDep, _: Staff, campaign_id: Id) -> dict[str, Any]:
    """The run going now (None when none is) and the latest run, with counts, rate and ETA."""
    status = campaign_as_row(runtime, campaign_id)["status"]
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    current = current_run(runs)
    return {
        "campaign_id": campaign_id,
        "status": status,
        "current": current.as_dict() if current else None,
        "latest": runs[-1].as_dict() if runs else None,
        "runs": len(runs),
    }


@router.get(
    "/{campaign_id}/preview",
    response_model=dict[str, RenderingOut],
    summary="为某企业预览 / each channel's message for one enterprise",
)
def preview(
    runtime: RuntimeDep,
    _: Staff,
    campaign_id: Id,
    enterprise: Annotated[
        str,
        Query(
            min_length=1,
            max_length=40,
            description="统一社会信用代码 / credit code",
            json_schema_extra=CREDIT_CODE,
        ),
    ],
) -> dict[str, Any]:
    """Each channel's message for the enterprise, as its provider composes it, with the SMS
    length and billed parts; nothing is sent."""
    renderings = preview_campaign(
        runtime.sessions,
        campaign_id,
        enterprise,
        providers=runtime.providers,
        messages=runtime.messages,
        now=runtime.time_source.now(),
    )
    return {channel: dataclasses.asdict(r) for channel, r in renderings.items()}


@router.post(
    "/{campaign_id}/test-send", response_model=TestSent, summary="测试发送 / send a test"
)
def test_send(
    runtime: RuntimeDep, principal: Staff, campaign_id: Id, given: TestSendIn
) -> dict[str, Any]:
    """Send one rendering to your own address now; nothing is recorded as a delivery."""
    channel = read_channel_word(given.channel)
    message, result = send_test_message(
        runtime.sessions,
        campaign_id,
        to=given.to,
        channel=channel,
        credit_code=given.enterprise,
        providers=runtime.providers,
        messages=runtime.messages,
        now=runtime.time_source.now(),
    )
    record_change(
        runtime,
        principal,
        action="campaign.test_send",
        target_type="campaign",
        target_id=campaign_id,
        after={"channel": channel, "to": message.to},
    )
    return {
        "to": message.to,
        "channel": channel,
        "provider": result.provider,
        "provider_message_id": result.provider_message_id,
    }


def _change(
    runtime: Runtime, principal: Principal, campaign_id: int, action: str, changed: Changed,
    before: dict[str, Any],
) -> dict[str, Any]:
    record_change(
        runtime,
        principal,
        action=f"campaign.{action}",
        target_type="campaign",
        target_id=campaign_id,
        before={"status": before["status"]},
        after={"status": changed.status, "deliveries": changed.deliveries},
    )
    return dataclasses.asdict(changed)


@router.post("/{campaign_id}/pause", response_model=CampaignChanged, summary="暂停 / pause")
def pause(runtime: RuntimeDep, principal: Staff, campaign_id: Id) -> dict[str, Any]:
    """No new send from now on; unsent deliveries wait until resumed (``deliveries``: held)."""
    before = campaign_as_row(runtime, campaign_id)
    changed = pause_campaign(runtime.sessions, campaign_id, time_source=runtime.time_source)
    return _change(runtime, principal, campaign_id, "pause", changed, before)


@router.post("/{campaign_id}/resume", response_model=CampaignChanged, summary="恢复 / resume")
def resume(runtime: RuntimeDep, principal: Staff, campaign_id: Id) -> dict[str, Any]:
    """Resume a paused campaign: what was held is queued again (``deliveries``: queued)."""
    before = campaign_as_row(runtime, campaign_id)
    changed = resume_campaign(
        runtime.sessions,
        runtime.dispatch,
        campaign_id,
        batch_size=runtime.settings.delivery.batch_size,
        time_source=runtime.time_source,
    )
    return _change(runtime, principal, campaign_id, "resume", changed, before)


@router.post("/{campaign_id}/cancel", response_model=CampaignChanged, summary="取消 / cancel")
def cancel_(runtime: RuntimeDep, principal: Staff, campaign_id: Id) -> dict[str, Any]:
    """Every unsent delivery becomes cancelled; no run comes after (``deliveries``: cancelled)."""
    before = campaign_as_row(runtime, campaign_id)
    changed = cancel(runtime.sessions, campaign_id, time_source=runtime.time_source)
    return _change(runtime, principal, campaign_id, "cancel", changed, before)
