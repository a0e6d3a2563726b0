"""``/api/v1/policies``: preview, publish, list, show, revise, cancel.

The body of a preview or publish is the policy file itself (docs/formats.md, "Policy file"), read by
the same strict reader as ``notifier policies publish FILE.json``: unknown or repeated keys,
``NaN`` and the rest are refused naming the field (400).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from notifier.domain.records import PolicyDraft
from notifier.errors import NotFoundError
from notifier.inputs.policy import PolicyFile
from notifier.inputs.policy_file import read_policy_file
from notifier.runtime import Runtime
from notifier.services.approval.listings import approval_state
from notifier.services.context import Context
from notifier.services.enterprises.listings import local
from notifier.services.policies import publishing
from notifier.services.policies.corrections import cancel_policy, describe
from notifier.services.policies.corrections import revise as revise_policy
from notifier.services.policies.listings import deadline_rows, policy_row
from notifier.services.policies.preview import preview_policy
from notifier.store import policies as store
from notifier.store.deliveries import DeliveryFilter, channel_status_counts
from notifier.web.api.bodies import read_body
from notifier.web.api.schemas import (
    PolicyDetail,
    PolicyOut,
    PolicyPreviewOut,
    Published,
    RevisedOut,
    WithdrawnOut,
)
from notifier.web.auth import Author, Principal, Reader, acting
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/policies", tags=["policies"])


async def _on_policy_file(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    use: Callable[[Context, PolicyDraft], dict[str, Any]],
) -> dict[str, Any]:
    """Read the body as a policy file and hand it, with the caller's context, to ``use``; in a
    worker thread, off the event loop (``use`` touches the database)."""
    content = await request.body()

    def run() -> dict[str, Any]:
        draft = read_policy_file(content, zone=runtime.settings.zone)
        return use(acting(runtime, principal), draft)

    return await run_in_threadpool(run)



@router.get("", response_model=list[PolicyOut], summary="政策列表 / newest policies")
def list_policies(
    runtime: RuntimeDep, principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """The newest policies first (a publisher: its department's)."""
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        recent = store.list_recent(session, limit=limit, scope=principal.scope)
        return [policy_row(p, zone) for p in recent]


@router.get("/{policy_id}", response_model=PolicyDetail, summary="政策详情 / one policy")
def show_policy(runtime: RuntimeDep, principal: Reader, policy_id: Id) -> dict[str, Any]:
    """One policy, its deadlines and its deliveries per channel and status (a community's
    staff: to their firms; a publisher: its department's policies only), and its approval
    (待审核, or 已退回 with the reason)."""
    zone = runtime.settings.zone
    scope = principal.scope
    counted = DeliveryFilter(policy_id=policy_id, scope=scope, counting=True)
    with runtime.sessions() as session:
        policy = store.get_in_scope(session, policy_id, scope)
        if policy is None:
            raise NotFoundError(f"policy {policy_id}: 不存在 / no such policy", field="policy_id")
        row = {
            **policy_row(policy, zone),
            "body": policy.body,
            "deadlines": deadline_rows(policy, lambda moment: local(moment, zone)),
            "deliveries": channel_status_counts(session, counted),
        }
    # Read after the session closes: SQLite gives one connection at a time.
    approval = approval_state(runtime.sessions, policy_id=policy_id)
    return {**row, **_history(runtime, policy_id), "approval": approval}


def _history(runtime: Runtime, policy_id: int) -> dict[str, Any]:
    """Its ref, withdrawal and revisions (更正记录), as ``notifier policies show`` gives them."""
    described = describe(runtime.sessions, policy_id, zone=runtime.settings.zone)
    return {key: described[key] for key in ("ref", "cancelled_at", "revisions")}


@router.post(
    "/preview",
    response_model=PolicyPreviewOut,
    openapi_extra=read_body(PolicyFile),
    summary="预览：会发给谁、内容如何 / whom it reaches, what they read",
)
async def preview(request: Request, runtime: RuntimeDep, principal: Author) -> dict[str, Any]:
    """Whom the policy would reach per channel, samples, each channel's message, SMS cost and
    warnings; nothing is stored or sent."""
    return await _on_policy_file(
        request, runtime, principal, lambda context, draft: preview_policy(context, draft).as_dict()
    )


def _publish(context: Context, draft: PolicyDraft) -> dict[str, Any]:
    result = publishing.publish_policy(context, draft)
    return {"id": result.policy_id, "created": result.created, "trigger_id": result.trigger_id,
            "held": result.held, "approval_id": result.approval_id}  # fmt: skip


@router.post(
    "",
    response_model=Published,
    openapi_extra=read_body(PolicyFile),
    summary="发布政策 / publish a policy",
)
async def publish_policy(
    request: Request, runtime: RuntimeDep, principal: Author
) -> dict[str, Any]:
    """Store the policy and queue it to the enterprises it targets (once: publishing it again
    sends nothing new). A ``published_at`` in the future is sent by the clock then. When the
    approval settings say so it waits (``held``, ``approval_id``): nothing is queued until
    another approver approves it (``/approvals``)."""
    return await _on_policy_file(request, runtime, principal, _publish)


@router.post(
    "/{policy_id}/revise",
    response_model=RevisedOut,
    openapi_extra=read_body(PolicyFile),
    summary="更正政策 / revise a published policy",
)
async def revise(
    request: Request,
    runtime: RuntimeDep,
    principal: Author,
    policy_id: Id,
    notify: Annotated[bool, Query(description="发更正通知 / send a correction")] = False,
) -> dict[str, Any]:
    """Correct the policy with the file (its ``ref`` must be this policy's): the old text is
    kept as a revision, deadlines are moved, added or cancelled by title. With ``notify=true``
    every enterprise it reached gets a correction (更正) on each channel it was reached on."""

    def use(context: Context, draft: PolicyDraft) -> dict[str, Any]:
        result = revise_policy(context, draft, notify=notify, policy_id=policy_id)
        return dataclasses.asdict(result)

    return await _on_policy_file(request, runtime, principal, use)


@router.post(
    "/{policy_id}/cancel",
    response_model=WithdrawnOut,
    summary="撤回未发布的政策 / withdraw a policy not yet published",
)
def cancel(runtime: RuntimeDep, principal: Author, policy_id: Id) -> dict[str, Any]:
    """Withdraw a policy whose publication time has not come: nothing of it is sent. A
    published one is refused (400): revise it instead."""
    return dataclasses.asdict(cancel_policy(acting(runtime, principal), policy_id))
