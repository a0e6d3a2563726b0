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

from notifier.domain.scope import DISTRICT, Scope
from notifier.inputs.api import TestSendIn
from notifier.inputs.campaign import CampaignFile
from notifier.inputs.enterprise_csv import read_channel_word
from notifier.inputs.fields import CREDIT_CODE
from notifier.runtime import Runtime
from notifier.services.approval.listings import approval_state
from notifier.services.campaigns.operations import (
    campaign_view,
    cancel,
    create_campaign,
)
from notifier.services.campaigns.operations import (
    list_campaigns as list_all,
)
from notifier.services.campaigns.operations import pause as pause_campaign
from notifier.services.campaigns.operations import resume as resume_campaign
from notifier.services.campaigns.preview import preview_campaign, send_test_message
from notifier.services.delivery.progress import campaign_runs, current_run
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
from notifier.web.auth import CampaignReader, Principal, Staff, acting
from notifier.web.campaign_upload import uploaded_campaign
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

def campaign_as_row(
    runtime: Runtime, campaign_id: int, scope: Scope = DISTRICT
) -> dict[str, Any]:
    """The campaign as listings show it (raises NotFoundError for an unknown id, or one out of
    ``scope``)."""
    return campaign_view(runtime.sessions, campaign_id, zone=runtime.settings.zone, scope=scope)


def create_from_file(runtime: Runtime, principal: Principal, content: bytes) -> dict[str, Any]:
    """Create the campaign a campaign file's bytes describe; InputError or TemplateError
    naming the field, nothing stored."""
    campaign_id = create_campaign(acting(runtime, principal), uploaded_campaign(runtime, content))
    after = campaign_as_row(runtime, campaign_id)
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
def list_campaigns(runtime: RuntimeDep, principal: CampaignReader) -> list[dict[str, Any]]:
    """Every campaign (a community's staff: those aimed inside their community), newest first."""
    return list_all(runtime.sessions, zone=runtime.settings.zone, scope=principal.scope)


@router.get("/{campaign_id}", response_model=CampaignDetail, summary="活动详情 / one campaign")
def show(runtime: RuntimeDep, principal: CampaignReader, campaign_id: Id) -> dict[str, Any]:
    """One campaign and its runs, each with counts by status, rate a minute and ETA, and its
    approval (待审核, or 已退回 with the reason)."""
    row = campaign_as_row(runtime, campaign_id, principal.scope)
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    approval = approval_state(runtime.sessions, campaign_id=campaign_id)
    return {**row, "runs": [run.as_dict() for run in runs], "approval": approval}


@router.get(
    "/{campaign_id}/progress",
    response_model=CampaignProgress,
    summary="当前运行进度 / the current run's progress",
)
def progress(runtime: RuntimeDep, principal: CampaignReader, campaign_id: Id) -> dict[str, Any]:
    """The run going now (None when none is) and the latest run, with counts, rate and ETA."""
    status = campaign_as_row(runtime, campaign_id, principal.scope)["status"]
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
    principal: Staff,
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
    renderings = preview_campaign(acting(runtime, principal), campaign_id, enterprise)
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
        acting(runtime, principal), campaign_id, to=given.to, channel=channel,
        credit_code=given.enterprise,
    )
    return {
        "to": message.to,
        "channel": channel,
        "provider": result.provider,
        "provider_message_id": result.provider_message_id,
    }


@router.post("/{campaign_id}/pause", response_model=CampaignChanged, summary="暂停 / pause")
def pause(runtime: RuntimeDep, principal: Staff, campaign_id: Id) -> dict[str, Any]:
    """No new send from now on; unsent deliveries wait until resumed (``deliveries``: held)."""
    return dataclasses.asdict(pause_campaign(acting(runtime, principal), campaign_id))


@router.post("/{campaign_id}/resume", response_model=CampaignChanged, summary="恢复 / resume")
def resume(runtime: RuntimeDep, principal: Staff, campaign_id: Id) -> dict[str, Any]:
    """Resume a paused campaign: what was held is queued again (``deliveries``: queued)."""
    return dataclasses.asdict(resume_campaign(acting(runtime, principal), campaign_id))


@router.post("/{campaign_id}/cancel", response_model=CampaignChanged, summary="取消 / cancel")
def cancel_(runtime: RuntimeDep, principal: Staff, campaign_id: Id) -> dict[str, Any]:
    """Every unsent delivery becomes cancelled; no run comes after (``deliveries``: cancelled)."""
    return dataclasses.asdict(cancel(acting(runtime, principal), campaign_id))
