"""``/api/v1/deadlines``: list, move, cancel, mark done for an enterprise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from notifier.errors import InputError
from notifier.inputs.api import DoneIn, MoveIn
from notifier.inputs.policy_file import read_due_at
from notifier.runtime import Runtime
from notifier.services.deadlines.operations import (
    Changed,
    cancel_deadline,
    mark_done,
    move_deadline,
    report,
)
from notifier.services.enterprises.listings import local
from notifier.web.api.schemas import DeadlineChanged, DeadlineOut, DoneOut
from notifier.web.auth import Staff, acting
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/deadlines", tags=["deadlines"])


@router.get("", response_model=list[DeadlineOut], summary="截止日期与提醒 / deadlines")
def list_deadlines(
    runtime: RuntimeDep,
    principal: Staff,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> list[dict[str, Any]]:
    """Each deadline, its reminder rungs and which went out."""
    return report(acting(runtime, principal), limit=limit)


def _changed(runtime: Runtime, changed: Changed) -> dict[str, Any]:
    return {
        "deadline_id": changed.deadline_id,
        "due_at": local(changed.due_at, runtime.settings.zone),
        "cancelled_triggers": changed.cancelled_triggers,
        "cancelled_deliveries": changed.cancelled_deliveries,
    }


@router.post(
    "/{deadline_id}/move", response_model=DeadlineChanged, summary="改期 / move a deadline"
)
def move(runtime: RuntimeDep, principal: Staff, deadline_id: Id, body: MoveIn) -> dict[str, Any]:
    """Move a deadline; its unsent rungs follow (a date alone is the end of that day)."""
    try:
        due = read_due_at(body.due_at, zone=runtime.settings.zone)
    except InputError as exc:
        raise InputError(f"due_at: {exc}", field="due_at") from None
    return _changed(runtime, move_deadline(acting(runtime, principal), deadline_id, due))


@router.post(
    "/{deadline_id}/cancel", response_model=DeadlineChanged, summary="取消 / cancel a deadline"
)
def cancel(runtime: RuntimeDep, principal: Staff, deadline_id: Id) -> dict[str, Any]:
    """Cancel a deadline: no more reminders, unsent ones cancelled."""
    return _changed(runtime, cancel_deadline(acting(runtime, principal), deadline_id))


@router.post(
    "/{deadline_id}/done", response_model=DoneOut, summary="标记企业已办 / mark done for one"
)
def done(runtime: RuntimeDep, principal: Staff, deadline_id: Id, body: DoneIn) -> dict[str, Any]:
    """Record that an enterprise has done the deadline: no more reminders for it."""
    new = mark_done(acting(runtime, principal), deadline_id, body.credit_code)
    code = body.credit_code.strip().upper()
    return {"deadline_id": deadline_id, "credit_code": code, "new": new}
