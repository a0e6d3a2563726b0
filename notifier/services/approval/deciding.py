"""Deciding a request: approve (what the send would have made is made now) or return it with a
reason (nothing is sent). Only an approver or an admin decides, and never their own request,
whatever the face; a decided request never changes again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from notifier.errors import BrokerUnavailable, InputError, NotAllowedError, NotFoundError
from notifier.services import audit
from notifier.services.approval.rules import DECIDERS, person
from notifier.services.context import Context
from notifier.store import approvals, campaigns, policies, triggers
from notifier.store.models import (
    Approval,
    ApprovalKind,
    ApprovalStatus,
    CampaignStatus,
    TriggerKind,
)

log = logging.getLogger(__name__)

REASON_LIMIT = 2000


@dataclass(frozen=True)
class Decided:
    """What a decision did: the request, its new status, the trigger made (if any)."""

    approval_id: int
    status: str
    trigger_id: int | None = None


def _pending(session: Session, context: Context, approval_id: int) -> Approval:
    """The request, locked, after the checks every decision makes.

    Raises:
        NotFoundError: no such request.
        NotAllowedError: the actor is not an approver or an admin, or wrote the request.
        ConflictError: it was decided already.
    """
    actor = context.actor
    if actor.role not in DECIDERS:
        raise NotAllowedError(
            "approval: 只有审核员或管理员可以审核 / only an approver or an admin may decide",
            field="approval",
        )
    approval = approvals.get(session, approval_id, for_update=True)
    if approval is None:
        raise NotFoundError(f"审核 approval {approval_id}: 不存在 / no such request",
                            field="approval")  # fmt: skip
    approvals.check_pending(approval)  # "decided already" before "your own"
    if person(actor) == approval.author:
        raise NotAllowedError(
            f"approval {approval_id}: 不能审核自己提交的发送，须由另一位审核员审核 / you wrote "
            "this send: another approver must decide it",
            field="approval",
        )
    return approval


def _release_policy(session: Session, approval: Approval, now: datetime) -> int | None:
    """Make what the publish or correction would have made; the trigger's id, or None."""
    policy = policies.get(session, approval.policy_id or 0, for_update=True)
    if policy is None or policy.cancelled_at is not None:
        raise InputError(
            f"approval {approval.id}: 政策已撤回，无法发送 / its policy was withdrawn",
            field="approval",
        )
    if approval.kind == ApprovalKind.CORRECTION:
        return triggers.insert_new(
            session,
            key=triggers.policy_corrected_key(policy.id, approval.revision or 0),
            kind=TriggerKind.POLICY_CORRECTED,
            due_at=now,
            policy_id=policy.id,
        )
    policy.held = False
    if policy.published_at > now:
        return None  # the clock makes its trigger when its publication time comes
    # Its publication time passed while it waited: it goes out now, at approval.
    return triggers.ensure(
        session,
        key=triggers.policy_published_key(policy.id),
        kind=TriggerKind.POLICY_PUBLISHED,
        due_at=now,
        policy_id=policy.id,
    ).id


def _release_campaign(session: Session, approval: Approval, now: datetime) -> None:
    campaign = campaigns.locked(session, approval.campaign_id or 0)
    if campaign is None or campaign.status != CampaignStatus.HELD:
        status = campaign.status if campaign else "gone"
        raise InputError(
            f"approval {approval.id}: 活动状态为 {status}，无法发送 / its campaign is {status}",
            field="approval",
        )
    campaign.status = CampaignStatus.SCHEDULED
    if campaign.once_at is not None and campaign.once_at < now:
        campaign.once_at = now  # its time passed while it waited: it runs at approval


def approve(context: Context, approval_id: int) -> Decided:
    """Approve the request: the policy's publish trigger (due now if its time has passed),
    the correction's trigger, or the campaign scheduled (the clock makes its run, a once
    campaign whose time passed runs now), made in the transaction that records the decision
    and its audit row (``approval.approve``); then queued.

    Raises:
        NotFoundError: no such request.
        NotAllowedError: the actor is not an approver or admin, or wrote the request (403).
        ConflictError: it was decided already (409).
        InputError: its policy was withdrawn, or its campaign cancelled.
    """
    now = context.time_source.now()
    trigger_id = None
    with context.sessions.begin() as session:
        approval = _pending(session, context, approval_id)
        if approval.kind == ApprovalKind.CAMPAIGN:
            _release_campaign(session, approval, now)
        else:
            trigger_id = _release_policy(session, approval, now)
        _decide(session, context, approval, ApprovalStatus.APPROVED, None, now,
                trigger_id=trigger_id)  # fmt: skip
    if trigger_id is not None:
        try:
            context.dispatch.fan_out(trigger_id)
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(
                f"{exc}; approval {approval_id} is recorded and the sweeper queues its send "
                "once the broker is back"
            ) from exc
    log.info("approval %s approved by %s, trigger %s", approval_id, person(context.actor),
             trigger_id)  # fmt: skip
    return Decided(approval_id, ApprovalStatus.APPROVED, trigger_id)


def return_(context: Context, approval_id: int, reason: str) -> Decided:
    """Return the request to its author with ``reason``: nothing is sent (a policy stays held,
    a campaign is ``returned``); audited (``approval.return``).

    Raises:
        InputError: (field ``reason``) no reason, or a reason over 2,000 characters.
        NotFoundError, NotAllowedError, ConflictError: as :func:`approve`.
    """
    text = reason.strip()
    if not text or len(text) > REASON_LIMIT:
        raise InputError(
            "reason: 退回须写明理由（2000 字以内） / a return needs a reason (at most 2,000 "
            "characters)",
            field="reason",
        )
    now = context.time_source.now()
    with context.sessions.begin() as session:
        approval = _pending(session, context, approval_id)
        if approval.kind == ApprovalKind.CAMPAIGN:
            campaign = campaigns.locked(session, approval.campaign_id or 0)
            if campaign is not None and campaign.status == CampaignStatus.HELD:
                campaign.status = CampaignStatus.RETURNED
        _decide(session, context, approval, ApprovalStatus.RETURNED, text, now)
    log.info("approval %s returned by %s", approval_id, person(context.actor))
    return Decided(approval_id, ApprovalStatus.RETURNED)


def _decide(
    session: Session, context: Context, approval: Approval, status: ApprovalStatus,
    reason: str | None, now: datetime, *, trigger_id: int | None = None,
) -> None:
    approvals.decide(session, approval, status=status, by=person(context.actor),
                     role=context.actor.role, at=now, reason=reason)  # fmt: skip
    verb = "approve" if status == ApprovalStatus.APPROVED else "return"
    audit.record(
        session, context, action=f"approval.{verb}", target_type="approval",
        target_id=approval.id, before={"status": "pending"},
        after={"status": str(status), "reason": reason, "trigger": trigger_id,
               "kind": approval.kind, "policy_id": approval.policy_id,
               "campaign_id": approval.campaign_id},
    )  # fmt: skip
