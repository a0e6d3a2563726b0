"""Filing a request: the send waits (待审核) with its frozen preview; an older pending request
of the same subject is withdrawn. Both audited in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from notifier.services import audit
from notifier.services.approval.freezing import Frozen
from notifier.services.approval.rules import person
from notifier.services.context import Context
from notifier.store import approvals
from notifier.store.models import Approval, ApprovalStatus


def check_before_waiting(context: Context, frozen: Frozen) -> None:
    """The one place a send's texts are checked before it waits for approval (the content
    checks hook in here: forbidden words, unfilled variables, links); nothing yet.

    Raises:
        InputError: a text is refused, naming the place; nothing is stored.
    """


def withdraw_pending(
    session: Session,
    context: Context,
    *,
    policy_id: int | None = None,
    campaign_id: int | None = None,
    why: str,
) -> list[int]:
    """Withdraw the subject's pending requests (a newer one replaces them, or the subject was
    cancelled), each audited (``approval.withdraw``); their ids."""
    now = context.time_source.now()
    withdrawn = []
    for pending in approvals.pending_of(session, policy_id=policy_id, campaign_id=campaign_id):
        approvals.decide(
            session, pending, status=ApprovalStatus.WITHDRAWN, by=person(context.actor),
            role=context.actor.role, at=now, reason=why,
        )  # fmt: skip
        audit.record(
            session, context, action="approval.withdraw", target_type="approval",
            target_id=pending.id, before={"status": "pending"},
            after={"status": "withdrawn", "reason": why},
        )  # fmt: skip
        withdrawn.append(pending.id)
    return withdrawn


def file_request(
    session: Session,
    context: Context,
    frozen: Frozen,
    *,
    policy_id: int | None = None,
    revision: int | None = None,
    campaign_id: int | None = None,
) -> Approval:
    """File the request for ``frozen`` (its subject: a policy, a policy's revision, or a
    campaign), withdrawing the subject's older pending one; audited (``approval.request``).

    Raises:
        InputError: the texts are refused (:func:`check_before_waiting`).
    """
    check_before_waiting(context, frozen)
    withdraw_pending(
        session, context, policy_id=policy_id, campaign_id=campaign_id,
        why="replaced by a newer request 已被新的申请取代",
    )  # fmt: skip
    approval = approvals.add(
        session,
        Approval(
            kind=frozen.kind, policy_id=policy_id, revision=revision, campaign_id=campaign_id,
            author=person(context.actor), author_role=context.actor.role,
            requested_at=context.time_source.now(), preview=frozen.preview,
            rules=list(frozen.rules),
        ),
    )  # fmt: skip
    audit.record(
        session, context, action="approval.request", target_type="approval",
        target_id=approval.id,
        after={"kind": frozen.kind, "policy_id": policy_id, "revision": revision,
               "campaign_id": campaign_id, "rules": list(frozen.rules)},
    )  # fmt: skip
    return approval
