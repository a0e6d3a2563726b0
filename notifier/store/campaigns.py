"""Campaigns: stored, listed, their runs (triggers of kind ``campaign_run``) and their deliveries
held, released or cancelled as staff pause, resume and cancel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import Session

from notifier.domain.records import CampaignDraft
from notifier.errors import InputError
from notifier.store import added, audience, triggers
from notifier.store import templates as stored
from notifier.store.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Trigger,
    TriggerKind,
    TriggerStatus,
)

S = DeliveryStatus
# A paused campaign's unsent deliveries wait ``deferred`` until this (i.e. until resumed): the
# claim never takes them and the sweeper never re-queues them.
PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
PAUSED_REASON = "campaign paused: waits for resume"
CANCELLED_REASON = "campaign cancelled"
# Not sent yet and not being sent: what pause holds and cancel ends.
UNSENT = (S.PENDING, S.QUEUED, S.DEFERRED)
HALTED = (CampaignStatus.PAUSED, CampaignStatus.CANCELLED)


def run_key(campaign_id: int, run_at: datetime) -> str:
    """The unique key of one run: two clocks make it once."""
    moment = run_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"campaign:{campaign_id}:{moment}"


def add(session: Session, campaign: Campaign) -> Campaign:
    """Store a new campaign; its id is set on return."""
    return added(session, campaign)


def get(session: Session, campaign_id: int) -> Campaign | None:
    """The campaign with this id, or None."""
    return session.get(Campaign, campaign_id)


def locked(session: Session, campaign_id: int) -> Campaign | None:
    """The campaign with this id, its row locked until the transaction ends (PostgreSQL;
    SQLite has one writer at a time anyway), or None."""
    return session.get(Campaign, campaign_id, with_for_update=True)


def name_taken(session: Session, name: str, *, besides: int | None = None) -> bool:
    """Whether a campaign of this name exists (other than the campaign ``besides``)."""
    query = select(Campaign.id).where(Campaign.name == name)
    if besides is not None:
        query = query.where(Campaign.id != besides)
    return session.scalar(query) is not None


def newest_first(ids: Sequence[int] | None = None) -> Select[Campaign]:
    """Every campaign (or those of ``ids``), newest first (for paging)."""
    query = select(Campaign).order_by(Campaign.id.desc())
    return query if ids is None else query.where(Campaign.id.in_(list(ids)))


def list_all(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    return list(session.scalars(newest_first()))


def active(session: Session) -> list[Campaign]:
    """Campaigns whose runs may still fall due or finish (scheduled or running)."""
    query = select(Campaign).where(
        Campaign.status.in_([CampaignStatus.SCHEDULED, CampaignStatus.RUNNING])
    )
    return list(session.scalars(query.order_by(Campaign.id)))


def advance(session: Session, campaign_id: int, status: str) -> bool:
    """Move a scheduled or running campaign to ``status`` (running, finished); one that staff
    paused or cancelled meanwhile is left as it is. Returns whether it moved."""
    result = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status.in_([CampaignStatus.SCHEDULED, CampaignStatus.RUNNING]),
        )
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def runs(session: Session, campaign_ids: Sequence[int]) -> list[Trigger]:
    """The runs (triggers) of these campaigns, oldest first."""
    return triggers.of_kind(
        session, Trigger.campaign_id, campaign_ids, kind=TriggerKind.CAMPAIGN_RUN
    )


def halted(session: Session, campaign_ids: Sequence[int]) -> dict[int, str]:
    """Of these campaigns, those paused or cancelled, with their status."""
    if not campaign_ids:
        return {}
    query = select(Campaign.id, Campaign.status).where(
        Campaign.id.in_(list(campaign_ids)), Campaign.status.in_(HALTED)
    )
    return {campaign_id: status for campaign_id, status in session.execute(query)}


def _of_campaign(campaign_id: int) -> ColumnElement[bool]:
    run_ids = select(Trigger.id).where(Trigger.campaign_id == campaign_id)
    return Delivery.trigger_id.in_(run_ids.scalar_subquery())


def hold_unsent(session: Session, campaign_id: int, *, now: datetime) -> int:
    """Pause: every unsent delivery of the campaign waits ``deferred`` until resumed.

    The attempt counts are not touched. Returns how many were held.
    """
    result = session.execute(
        update(Delivery)
        .where(_of_campaign(campaign_id), Delivery.status.in_(UNSENT))
        .values(
            status=S.DEFERRED,
            next_attempt_at=PAUSED_UNTIL,
            last_error=PAUSED_REASON,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release_held(session: Session, campaign_id: int, *, now: datetime) -> list[int]:
    """Resume: the deliveries pause held are queued again; return their ids, to dispatch."""
    return list(
        session.scalars(
            update(Delivery)
            .where(
                _of_campaign(campaign_id),
                Delivery.status == S.DEFERRED,
                Delivery.next_attempt_at == PAUSED_UNTIL,
            )
            .values(
                status=S.QUEUED,
                next_attempt_at=None,
                last_error=None,
                queued_at=now,
                updated_at=now,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )


def cancel_unsent(session: Session, campaign_id: int, *, now: datetime) -> int:
    """Cancel: every unsent delivery of the campaign becomes ``cancelled``, and every run not yet
    fanned out is cancelled too. Returns how many deliveries were cancelled."""
    result = session.execute(
        update(Delivery)
        .where(_of_campaign(campaign_id), Delivery.status.in_(UNSENT))
        .values(status=S.CANCELLED, last_error=CANCELLED_REASON, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Trigger)
        .where(Trigger.campaign_id == campaign_id, Trigger.status == TriggerStatus.PENDING)
        .values(status=TriggerStatus.CANCELLED, error=CANCELLED_REASON, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def run_counts(session: Session, campaign_id: int) -> dict[int, dict[str, int]]:
    """Per run (trigger id) of the campaign, how many deliveries are in each status."""
    query = (
        select(Delivery.trigger_id, Delivery.status, func.count())
        .where(_of_campaign(campaign_id))
        .group_by(Delivery.trigger_id, Delivery.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for trigger_id, status, number in session.execute(query):
        counts.setdefault(trigger_id, {})[status] = number
    return counts


def sent_since(session: Session, trigger_ids: Sequence[int], since: datetime) -> int:
    """How many deliveries of these triggers were sent at or after ``since``."""
    if not trigger_ids:
        return 0
    query = select(func.count()).where(
        Delivery.trigger_id.in_(list(trigger_ids)), Delivery.sent_at >= since
    )
    return session.scalar(query) or 0


def save_inline_templates(session: Session, draft: CampaignDraft) -> dict[str, str]:
    """Save the draft's inline templates as stored templates; return channel -> template name
    for every channel (named ones checked to exist).

    Raises:
        TemplateError: an inline template is refused (the caller rolls back: nothing stored).
        InputError: a named template does not exist for its channel.
    """
    names: dict[str, str] = {}
    for channel in draft.channels:
        inline = draft.inline_templates.get(channel)
        name = draft.templates.get(channel) or f"{draft.name}"
        if inline is not None:
            stored.save(
                session,
                name,
                channel,
                inline.body,
                subject=inline.subject,
                html=inline.html,
                author=draft.author,
            )
        elif stored.current(session, name, channel) is None:
            raise InputError(
                f"模板 templates.{channel}: 没有该模板 no stored template {name!r} for {channel}",
                field="templates",
            )
        names[channel] = name
    return names


def pin_templates(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The current version of each channel's template, pinned for one run (text included)."""
    pinned: dict[str, Any] = {}
    for channel, name in (campaign.templates or {}).items():
        template = stored.current(session, name, channel)
        if template is None:
            continue  # rendering that channel fails with the reason, the rest go out
        pinned[channel] = {
            "name": template.name,
            "version": template.version,
            "body": template.body,
            "subject": template.subject,
            "html": template.html,
        }
    return pinned


def first_listed(session: Session, campaign: Campaign) -> str | None:
    """The credit code of the first enterprise the campaign reaches, or None."""
    first = audience.page(session, campaign.targets, after=None, size=1)
    return first[0].credit_code if first else None
