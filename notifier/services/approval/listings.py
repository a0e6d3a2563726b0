"""Approval requests as plain rows: what the API, the console and the CLI show."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from notifier.domain.scope import ScopeKind
from notifier.errors import NotFoundError
from notifier.services.approval.rules import person
from notifier.services.context import Actor, Context
from notifier.services.delivery.kinds import local_or_none
from notifier.store import approvals
from notifier.store.db import SessionFactory
from notifier.store.models import Approval

# Who reads every request (its audience counts and sample texts are the district's): the
# district (admins, the district office, the CLI) and approvers. A community's staff and a
# department's publisher read only the requests they filed.
_READ_ALL = (ScopeKind.DISTRICT, ScopeKind.APPROVER)


def _author_filter(reader: Actor) -> str | None:
    """None: ``reader`` reads every request; otherwise the author they are held to."""
    return None if reader.scope.kind in _READ_ALL else person(reader)


def approval_row(approval: Approval, zone: tzinfo) -> dict[str, Any]:
    """The request with its frozen preview, times in ``zone``."""
    row = approvals.row(approval)
    row["requested_at"] = local_or_none(approval.requested_at, zone)
    row["decided_at"] = local_or_none(approval.decided_at, zone)
    row["subject"] = subject_of(approval)
    return row


def subject_of(approval: Approval) -> str:
    """What the request is about, in a few words (``policy 3``, ``policy 3 revision 2``)."""
    if approval.campaign_id is not None:
        return f"campaign {approval.campaign_id}"
    if approval.revision is not None:
        return f"policy {approval.policy_id} revision {approval.revision}"
    return f"policy {approval.policy_id}"


def list_approvals(
    context: Context, *, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest requests first (of ``status`` when given: ``pending``...) that the actor may
    read: all of them for the district and approvers, one's own for anyone else."""
    author = _author_filter(context.actor)
    zone = context.settings.zone
    with context.sessions() as session:
        listed = approvals.listed(session, status=status, limit=limit, author=author)
        return [approval_row(a, zone) for a in listed]


def show_approval(context: Context, approval_id: int) -> dict[str, Any]:
    """One request, its frozen preview and its decision (another's request, to a reader held to
    their own, is "not found").

    Raises:
        NotFoundError: no such request (that the actor may read).
    """
    author = _author_filter(context.actor)
    with context.sessions() as session:
        approval = approvals.get(session, approval_id)
        if approval is None or author not in (None, approval.author):
            raise NotFoundError(f"审核 approval {approval_id}: 不存在 / no such request",
                                field="approval")  # fmt: skip
        return approval_row(approval, context.settings.zone)


def approval_state(
    sessions: SessionFactory, *, policy_id: int | None = None, campaign_id: int | None = None
) -> dict[str, Any] | None:
    """Where the newest request of a policy or a campaign stands (``id``, ``kind``,
    ``status``, ``reason``, ``decided_by``), for its page; None when it never needed one."""
    with sessions() as session:
        latest = approvals.latest_of(session, policy_id=policy_id, campaign_id=campaign_id)
        if latest is None:
            return None
        return {"id": latest.id, "kind": latest.kind, "status": latest.status,
                "reason": latest.reason, "decided_by": latest.decided_by}  # fmt: skip
