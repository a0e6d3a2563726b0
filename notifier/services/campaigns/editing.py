"""Editing a campaign before it runs: what the form is filled with, and the edit saved.

A campaign can be edited until its first run is made (or it is cancelled or finished): a run
pins the templates and the audience it was made with, so an edit afterwards would change a
campaign half sent. Cancel it and create another then, as the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.records import CampaignDraft
from notifier.domain.scope import DISTRICT, Scope
from notifier.errors import InputError, NotFoundError
from notifier.services.approval.requests import file_request
from notifier.services.campaigns.content import require_clean_campaign
from notifier.services.campaigns.freezing import freeze_campaign
from notifier.services.campaigns.operations import campaign_row, draft_columns
from notifier.services.campaigns.rows import get_campaign, record
from notifier.services.context import Context
from notifier.services.enterprises.regions import within_scope
from notifier.store import campaigns as store
from notifier.store.db import SessionFactory
from notifier.store.models import Campaign, CampaignStatus

_ENDED_WORDS = {CampaignStatus.CANCELLED: "已取消", CampaignStatus.FINISHED: "已结束"}


@dataclass(frozen=True)
class Editable:
    """A campaign as an edit starts from: its listing row (its ``url`` too), the current text
    of each channel's template (``body``, ``subject``), and why it cannot be edited (None: it
    can)."""

    row: dict[str, Any]
    texts: dict[str, dict[str, str | None]]
    refusal: str | None


def refusal(session: Session, campaign: Campaign) -> str | None:
    """Why ``campaign`` can no longer be edited (a run made, cancelled, finished), or None."""
    ended = _ENDED_WORDS.get(CampaignStatus(campaign.status))
    if ended is not None:
        return f"活动 campaign {campaign.id}: {ended}，不能再编辑 it can no longer be edited"
    if store.runs(session, [campaign.id]):
        return (
            f"活动 campaign {campaign.id}: 已开始运行，不能再编辑；可取消后新建 "
            "a run has started: it can no longer be edited (cancel it and create another)"
        )
    return None


def editable(
    sessions: SessionFactory, campaign_id: int, *, zone: tzinfo, scope: Scope = DISTRICT
) -> Editable:
    """The campaign as its edit form starts from, read in a session of its own.

    Raises:
        NotFoundError: no campaign has this id.
    """
    with sessions() as session:
        campaign = get_campaign(session, campaign_id, scope)
        pinned = store.pin_templates(session, campaign)
        texts = {c: {"body": p["body"], "subject": p["subject"]} for c, p in pinned.items()}
        row = {**campaign_row(campaign, zone), "url": campaign.url}
        return Editable(row, texts, refusal(session, campaign))


def update(context: Context, campaign_id: int, draft: CampaignDraft) -> int:
    """Replace the campaign with ``draft`` (its inline templates saved as new versions) and
    write its ``campaign.update`` audit row (before and after), in one transaction; its id.

    A repeating schedule counts its runs from the edit: a time it names before now is not a
    run missed. The campaign's row is locked first, so a run made meanwhile is seen.

    When the ``approval`` settings say so (or it was waiting, or returned), the edited
    campaign waits for approval again (``held``), its older request withdrawn.

    Raises:
        NotFoundError: no such campaign.
        InputError: a run has started (or it is cancelled or finished), or the name is taken.
        TemplateError: an inline template is refused; nothing is changed.
        ContentRefused: (an InputError naming the place) its texts break a content rule.
    """
    zone = context.settings.zone
    scope = context.scope
    regions = within_scope(draft.targets.regions, scope)  # a community's: inside it
    draft = replace(draft, targets=replace(draft.targets, regions=regions))
    require_clean_campaign(context, draft)  # rendered outside the transaction, before saving
    frozen = freeze_campaign(context, draft)  # before the transaction; None: approval off
    with context.sessions.begin() as session:
        campaign = store.locked(session, campaign_id)
        if campaign is None or not scope.sees_targets(campaign.targets.regions):
            raise NotFoundError(
                f"活动 campaign {campaign_id}: 不存在 no such campaign", field="campaign"
            )
        why = refusal(session, campaign)
        if why is not None:
            raise InputError(why, field="campaign")
        if store.name_taken(session, draft.name, besides=campaign_id):
            raise InputError(f"名称 name: campaign {draft.name!r} already exists", field="name")
        before = campaign_row(campaign, zone)
        columns = draft_columns(draft, store.save_inline_templates(session, draft))
        if draft.cron and draft.starts_at is None:
            columns["starts_at"] = context.time_source.now()
        for column, value in columns.items():
            setattr(campaign, column, value)
        waits = campaign.status in (CampaignStatus.HELD, CampaignStatus.RETURNED)
        if frozen is not None and (frozen.needed or waits):
            # The edited campaign waits for approval again, on its new texts and audience.
            campaign.status = CampaignStatus.HELD
            session.flush()
            file_request(session, context, frozen, campaign_id=campaign_id)
        session.flush()
        record(context, session, campaign, "update", before=before,
               after=campaign_row(campaign, zone))  # fmt: skip
        return campaign_id
