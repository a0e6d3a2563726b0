"""Campaigns: made from a checked file, their runs found by the clock, paused, resumed, cancelled.

Each run is a trigger of kind ``campaign_run`` whose unique key names the campaign and the run's
time (``campaign:{id}:{UTC time}``), so two clocks (or a catch-up run) make it once. The run pins
the current version of each channel's stored template. After downtime, of the runs that fell
due meanwhile only the newest goes out, and only when it is at most ``clock.catch_up_hours``
old; the others are recorded ``missed``, never sent late (as deadline reminders do).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.records import CampaignDraft
from notifier.domain.schedules import Schedule
from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.time_source import TimeSource
from notifier.errors import InputError
from notifier.services.approval.requests import file_request, withdraw_pending
from notifier.services.campaigns.content import require_clean_campaign
from notifier.services.campaigns.freezing import freeze_campaign
from notifier.services.campaigns.rows import get_campaign, record
from notifier.services.context import Context
from notifier.services.deadlines.reminders import PlannedRung, decide
from notifier.services.delivery.kinds import local_or_none
from notifier.services.delivery.pacing import Pace
from notifier.services.delivery.ports import Dispatch
from notifier.services.enterprises.regions import with_full_regions
from notifier.store import campaigns as store
from notifier.store.db import SessionFactory
from notifier.store.models import Campaign, CampaignStatus, Trigger, TriggerKind, TriggerStatus

log = logging.getLogger(__name__)

# Missed runs older than this are not even recorded (a minutely cron over months of downtime).
LOOK_BACK = timedelta(days=31)
_ENDED = frozenset(
    {TriggerStatus.DONE, TriggerStatus.FAILED, TriggerStatus.MISSED, TriggerStatus.CANCELLED}
)
_IN_FLIGHT = ("pending", "queued", "sending", "deferred")


def schedule_of(campaign: Campaign) -> Schedule:
    """The campaign's schedule as a value."""
    return Schedule(
        once_at=campaign.once_at,
        cron=campaign.cron,
        timezone=campaign.timezone,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
    )


def campaign_view(
    sessions: SessionFactory, campaign_id: int, *, zone: tzinfo, scope: Scope = DISTRICT
) -> dict[str, Any]:
    """The campaign as listings show it, read in a session of its own.

    Raises:
        NotFoundError: no campaign has this id (in ``scope``).
    """
    with sessions() as session:
        return campaign_row(get_campaign(session, campaign_id, scope), zone)


def campaigns_in(session: Session, scope: Scope) -> list[int] | None:
    """The ids of the campaigns ``scope`` sees (None: every one). A campaign's regions are
    JSON in its row: read and matched here (campaigns are few), not in SQL."""
    if scope.district:
        return None
    return [c.id for c in store.list_all(session) if scope.sees_targets(c.targets.regions)]


def list_campaigns(sessions: SessionFactory, *, zone: tzinfo, scope: Scope) -> list[dict[str, Any]]:
    """Every campaign in ``scope``, newest first, as listings show them."""
    with sessions() as session:
        return [
            campaign_row(c, zone)
            for c in store.list_all(session)
            if scope.sees_targets(c.targets.regions)
        ]


def _schedule_words(campaign: Campaign, zone: tzinfo) -> str:
    if campaign.once_at is not None:
        return f"once 一次 {local_or_none(campaign.once_at, zone)}"
    end = f", until 截至 {local_or_none(campaign.ends_at, zone)}" if campaign.ends_at else ""
    return f"cron '{campaign.cron}' ({campaign.timezone}){end}"


def campaign_row(campaign: Campaign, zone: tzinfo) -> dict[str, Any]:
    """The campaign as listings show it (CLI and API), times in ``zone``."""
    return {
        "id": campaign.id,
        "name": campaign.name,
        "title": campaign.title,
        "status": campaign.status,
        "channels": list(campaign.channels),
        "templates": dict(campaign.templates),
        "audience": dict(campaign.audience),
        "once_at": local_or_none(campaign.once_at, zone),
        "cron": campaign.cron,
        "timezone": campaign.timezone,
        "starts_at": local_or_none(campaign.starts_at, zone),
        "ends_at": local_or_none(campaign.ends_at, zone),
        "throttle_per_minute": campaign.throttle_per_minute,
        "schedule": _schedule_words(campaign, zone),
        "message_class": campaign.message_class,
    }


def draft_columns(draft: CampaignDraft, templates: dict[str, str]) -> dict[str, Any]:
    """The campaign's columns the draft sets (``templates``: channel -> stored name), the same
    for a new campaign and an edited one."""
    return {
        "name": draft.name,
        "title": draft.title,
        "url": draft.url,
        "channels": list(draft.channels),
        "audience": draft.targets.as_dict(),
        "templates": templates,
        "once_at": draft.once_at,
        "cron": draft.cron,
        "timezone": draft.timezone,
        "starts_at": draft.starts_at,
        "ends_at": draft.ends_at,
        "throttle_per_minute": draft.throttle_per_minute,
        "message_class": draft.message_class,
    }


def create_campaign(context: Context, draft: CampaignDraft) -> int:
    """Store the campaign (its inline templates saved first) and its ``campaign.create`` audit
    row in one transaction; return its id.

    Its regions are stored as the full paths they name (``regions.with_full_regions``).
    When the ``approval`` settings say so (any campaign, an SMS audience, more than
    ``max_firms`` firms) it is stored ``held`` with its approval request: the clock runs it
    only once an approver other than its author approves (docs/approval.md).

    Raises:
        InputError: the name is taken, a template it names does not exist, or a region names
            several or none of the register's (field ``targets.regions``).
        TemplateError: an inline template is refused; nothing is stored.
        ContentRefused: (an InputError naming the place) its texts break a content rule
            (:mod:`notifier.services.content.checks`); nothing is stored.
    """
    draft = replace(
        draft, targets=with_full_regions(context.sessions, draft.targets, scope=context.scope)
    )
    require_clean_campaign(context, draft)  # rendered outside the transaction, before storing
    # Rendered before the transaction opens; None: approval is off.
    frozen = freeze_campaign(context, draft)
    held = frozen is not None and frozen.needed
    with context.sessions.begin() as session:
        if store.name_taken(session, draft.name):
            raise InputError(f"名称 name: campaign {draft.name!r} already exists", field="name")
        names = store.save_inline_templates(session, draft)
        campaign = store.add(
            session,
            Campaign(
                **draft_columns(draft, names),
                status=CampaignStatus.HELD if held else CampaignStatus.SCHEDULED,
                created_at=context.time_source.now(),
            ),
        )
        after = campaign_row(campaign, context.settings.zone)
        record(context, session, campaign, "create", after=after)
        if held and frozen is not None:
            file_request(session, context, frozen, campaign_id=campaign.id)
        return campaign.id


def _due_runs(campaign: Campaign, mine: list[Trigger], now: datetime) -> list[PlannedRung]:
    handled = {t.key for t in mine}
    # A cron's runs count from the campaign's creation; a once campaign's time may be just past
    # (created "for now"): the catch-up rule decides whether it still goes.
    created = campaign.created_at if campaign.cron else now - LOOK_BACK
    after = max([created - timedelta(seconds=1), now - LOOK_BACK] + [t.due_at for t in mine])
    return [
        PlannedRung(f"run {at.isoformat()}", at, store.run_key(campaign.id, at))
        for at in schedule_of(campaign).runs(after, now)
        if store.run_key(campaign.id, at) not in handled
    ]


def _make_runs(session: Session, campaign: Campaign, due: list[PlannedRung], *, now: datetime,
               catch_up: timedelta, zone: tzinfo) -> list[int]:
    fired = []
    pinned = None
    for decision in decide(due, now=now, catch_up=catch_up, zone=zone):
        if decision.reason is None and pinned is None:
            pinned = store.pin_templates(session, campaign)
        trigger_id = decision.make(
            session,
            kind=TriggerKind.CAMPAIGN_RUN,
            seen_as=f"campaign {campaign.id}, ",
            campaign_id=campaign.id,
            templates=None if decision.reason else pinned,
        )
        if trigger_id is not None:
            fired.append(trigger_id)
    if fired:
        store.advance(session, campaign.id, CampaignStatus.RUNNING)
    return fired


def _finish_if_done(
    session: Session, campaign: Campaign, mine: list[Trigger], now: datetime
) -> None:
    """A campaign with no run to come and nothing left in flight is finished."""
    if schedule_of(campaign).next_run(now) is not None or not mine:
        return
    if any(t.status not in _ENDED for t in mine):
        return
    counts = store.run_counts(session, campaign.id)
    if any(c.get(s) for c in counts.values() for s in _IN_FLIGHT):
        return
    store.advance(session, campaign.id, CampaignStatus.FINISHED)


def scan_due_campaigns(
    sessions: SessionFactory,
    dispatch: Dispatch,
    *,
    catch_up: timedelta,
    zone: tzinfo,
    time_source: TimeSource,
) -> list[int]:
    """Clock job: make the triggers of the campaign runs that fell due and queue their fan-outs;
    mark finished the campaigns with nothing left to do.

    Safe to run at any time, from two clocks at once: each run's key is unique.

    Returns:
        The ids of the triggers queued.
    """
    now = time_source.now()
    fired: list[int] = []
    with sessions.begin() as session:
        active = store.active(session)
        existing = store.runs(session, [c.id for c in active])
        for campaign in active:
            mine = [t for t in existing if t.campaign_id == campaign.id]
            due = _due_runs(campaign, mine, now)
            made = _make_runs(session, campaign, due, now=now, catch_up=catch_up, zone=zone)
            fired.extend(made)
            if not due:
                _finish_if_done(session, campaign, mine, now)
    # Committed first: a lost message leaves the trigger pending, which the sweeper recovers.
    for trigger_id in fired:
        dispatch.fan_out(trigger_id)
    if fired:
        log.info("campaign runs queued: triggers %s", fired)
    return fired


@dataclass(frozen=True)
class Changed:
    """What pause, resume or cancel did to a campaign."""

    campaign_id: int
    status: str
    deliveries: int


def _changed(
    context: Context, session: Session, campaign: Campaign, verb: str, before: str, count: int
) -> Changed:
    """Audit the status change (before and after) and say what it did."""
    status = str(campaign.status)
    record(
        context, session, campaign, verb,
        before={"status": before}, after={"status": status, "deliveries": count},
    )
    return Changed(campaign.id, status, count)


def pause(context: Context, campaign_id: int) -> Changed:
    """Pause: no new send of the campaign from the commit on; unsent deliveries wait, deferred.
    Audited (``campaign.pause``) in the same transaction.

    Raises:
        InputError: no such campaign, or it is cancelled or finished.
    """
    with context.sessions.begin() as session:
        campaign = get_campaign(session, campaign_id, context.scope)
        _refuse_ended(campaign, "pause")
        before = str(campaign.status)
        campaign.status = CampaignStatus.PAUSED
        session.flush()  # the gate reads the status from here on
        held = store.hold_unsent(session, campaign_id, now=context.time_source.now())
        return _changed(context, session, campaign, "pause", before, held)


def resume(context: Context, campaign_id: int) -> Changed:
    """Resume a paused campaign: what pause held is queued again, at the throttle's pace.
    Audited (``campaign.resume``) in the transaction that releases it.

    Raises:
        InputError: no such campaign, or it is not paused.
    """
    sessions = context.sessions
    with sessions.begin() as session:
        campaign = get_campaign(session, campaign_id, context.scope)
        if campaign.status != CampaignStatus.PAUSED:
            raise InputError(
                f"活动 campaign {campaign_id}: 未暂停 is {campaign.status}, not paused",
                field="campaign",
            )
        ran = bool(store.runs(session, [campaign_id]))
        before = str(campaign.status)
        campaign.status = CampaignStatus.RUNNING if ran else CampaignStatus.SCHEDULED
        per_minute = campaign.throttle_per_minute
        ids = store.release_held(session, campaign_id, now=context.time_source.now())
        changed = _changed(context, session, campaign, "resume", before, len(ids))
    # Committed first: a lost message leaves rows `queued`, which the sweeper recovers.
    Pace(sessions, context.settings.delivery.batch_size, per_minute).dispatch(
        context.dispatch, ids
    )
    return changed


def cancel(context: Context, campaign_id: int) -> Changed:
    """Cancel: every unsent delivery of its runs becomes ``cancelled``, and no run comes after.
    Audited (``campaign.cancel``) in the same transaction.

    Raises:
        InputError: no such campaign, or it is finished.
    """
    with context.sessions.begin() as session:
        campaign = get_campaign(session, campaign_id, context.scope)
        if campaign.status == CampaignStatus.FINISHED:
            raise InputError(f"活动 campaign {campaign_id}: 已结束 is finished", field="campaign")
        before = str(campaign.status)
        campaign.status = CampaignStatus.CANCELLED
        session.flush()
        withdraw_pending(session, context, campaign_id=campaign_id,
                         why="campaign cancelled 活动已取消")  # fmt: skip
        cancelled = store.cancel_unsent(session, campaign_id, now=context.time_source.now())
        return _changed(context, session, campaign, "cancel", before, cancelled)


def _refuse_ended(campaign: Campaign, action: str) -> None:
    # A held or returned campaign is not running: pausing it, then resuming, would pass by
    # its approval.
    stopped = (CampaignStatus.CANCELLED, CampaignStatus.FINISHED, CampaignStatus.HELD,
               CampaignStatus.RETURNED)  # fmt: skip
    if campaign.status in stopped:
        raise InputError(
            f"活动 campaign {campaign.id}: 无法{'暂停' if action == 'pause' else action} "
            f"cannot {action}: it is {campaign.status}",
            field="campaign",
        )

