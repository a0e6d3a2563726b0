"""``/api/v1/approvals``: requests waiting for approval (待审核) and their decisions.

Anyone who sends (staff, admin) and approvers read them: an author sees why theirs was
returned. Only an approver or an admin decides, and never their own (403, whatever the key).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from notifier.services.access.api_keys import Principal
from notifier.services.approval.deciding import approve as approve_request
from notifier.services.approval.deciding import return_
from notifier.services.approval.listings import list_approvals, show_approval
from notifier.store.models import Role
from notifier.web.api.schemas import ApprovalDecided, ApprovalOut, ReturnIn
from notifier.web.auth import acting, require
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/approvals", tags=["approvals"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.APPROVER, Role.STAFF))]
Decider = Annotated[Principal, Depends(require(Role.ADMIN, Role.APPROVER))]
Status = Literal["pending", "approved", "returned", "withdrawn"]


@router.get("", response_model=list[ApprovalOut], summary="审核列表 / approval requests")
def listing(
    runtime: RuntimeDep,
    principal: Reader,
    status: Annotated[Status | None, Query(description="只看某状态 / only this status")] = None,
) -> list[dict[str, Any]]:
    """The newest requests first (``status=pending``: the ones waiting), each with its frozen
    preview; a community's staff see the requests they filed."""
    return list_approvals(acting(runtime, principal), status=status)


@router.get("/{approval_id}", response_model=ApprovalOut, summary="审核详情 / one request")
def show(runtime: RuntimeDep, principal: Reader, approval_id: Id) -> dict[str, Any]:
    """One request: who asked, the frozen preview (audience, each channel's text, SMS parts
    and cost), and who decided, when and why (another's, to a community's staff: 404)."""
    return show_approval(acting(runtime, principal), approval_id)


@router.post(
    "/{approval_id}/approve", response_model=ApprovalDecided, summary="审核通过 / approve"
)
def approve(runtime: RuntimeDep, principal: Decider, approval_id: Id) -> dict[str, Any]:
    """Approve: the send is queued now (a policy whose time has passed goes at once). Its
    author is refused (403); a decided request is refused (409)."""
    return dataclasses.asdict(approve_request(acting(runtime, principal), approval_id))


@router.post(
    "/{approval_id}/return", response_model=ApprovalDecided, summary="退回 / return with a reason"
)
def return_request(
    runtime: RuntimeDep, principal: Decider, approval_id: Id, given: ReturnIn
) -> dict[str, Any]:
    """Return it to its author with the reason: nothing is sent. Its author is refused (403);
    a decided request is refused (409)."""
    decided = return_(acting(runtime, principal), approval_id, given.reason)
    return dataclasses.asdict(decided)
