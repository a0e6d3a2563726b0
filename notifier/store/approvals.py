"""Approval requests (table ``approvals``): filed, listed, decided once.

A decided request is the record of who wrote, who decided and what was seen: :func:`decide`
refuses any row that is no longer pending, so nothing here changes a decided row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from notifier.errors import ConflictError
from notifier.store import added
from notifier.store.models import Approval, ApprovalStatus


def add(session: Session, approval: Approval) -> Approval:
    """Store a new request (pending); its id is set on return."""
    approval.status = ApprovalStatus.PENDING
    return added(session, approval)


def get(session: Session, approval_id: int, *, for_update: bool = False) -> Approval | None:
    """The request with this id, or None; ``for_update`` locks its row (PostgreSQL) so two
    approvers deciding at once take turns."""
    return session.get(Approval, approval_id, with_for_update=for_update or None)


def pending_of(
    session: Session, *, policy_id: int | None = None, campaign_id: int | None = None
) -> list[Approval]:
    """The pending requests of a policy or a campaign, oldest first."""
    query = select(Approval).where(Approval.status == ApprovalStatus.PENDING)
    if policy_id is not None:
        query = query.where(Approval.policy_id == policy_id)
    if campaign_id is not None:
        query = query.where(Approval.campaign_id == campaign_id)
    return list(session.scalars(query.order_by(Approval.id)))


def latest_of(
    session: Session, *, policy_id: int | None = None, campaign_id: int | None = None
) -> Approval | None:
    """The newest request of a policy or a campaign (whatever its status), or None."""
    query = select(Approval)
    if policy_id is not None:
        query = query.where(Approval.policy_id == policy_id)
    if campaign_id is not None:
        query = query.where(Approval.campaign_id == campaign_id)
    return session.scalars(query.order_by(Approval.id.desc()).limit(1)).first()


def newest_first(status: str | None = None) -> Select[Approval]:
    """Every request (of ``status`` when given), the newest first (for paging)."""
    query = select(Approval).order_by(Approval.id.desc())
    return query if status is None else query.where(Approval.status == status)


def listed(
    session: Session, *, status: str | None = None, limit: int = 200, author: str | None = None
) -> list[Approval]:
    """The newest requests first (of ``status`` when given; of ``author`` alone when given)."""
    query = newest_first(status)
    if author is not None:
        query = query.where(Approval.author == author)
    return list(session.scalars(query.limit(limit)))


def check_pending(approval: Approval) -> None:
    """Refuse a request that is no longer pending.

    Raises:
        ConflictError: it was decided (or withdrawn) already.
    """
    if approval.status != ApprovalStatus.PENDING:
        raise ConflictError(
            f"审核 approval {approval.id}: 已处理（{approval.status}），记录不能更改 / was "
            f"{approval.status} already; a decided request cannot be changed",
            field="approval",
        )


def decide(
    session: Session,
    approval: Approval,
    *,
    status: ApprovalStatus,
    by: str,
    role: str,
    at: datetime,
    reason: str | None = None,
) -> None:
    """Record the decision on a pending request (approved, returned or withdrawn).

    Raises:
        ConflictError: the request was decided already; its row is left as it was.
    """
    check_pending(approval)
    approval.status = status
    approval.decided_by = by
    approval.decided_role = role
    approval.decided_at = at
    approval.reason = reason
    session.flush()


def row(approval: Approval) -> dict[str, Any]:
    """The request's columns as plain values (times as they are)."""
    return {
        "id": approval.id,
        "kind": approval.kind,
        "policy_id": approval.policy_id,
        "revision": approval.revision,
        "campaign_id": approval.campaign_id,
        "author": approval.author,
        "author_role": approval.author_role,
        "requested_at": approval.requested_at,
        "status": approval.status,
        "rules": list(approval.rules or []),
        "preview": dict(approval.preview or {}),
        "decided_by": approval.decided_by,
        "decided_role": approval.decided_role,
        "decided_at": approval.decided_at,
        "reason": approval.reason,
    }
