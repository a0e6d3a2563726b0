"""``/api/v1/deadlines``: list, move, cancel, mark done for an enterprise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from notifier.errors import InputError, NotFoundError
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
from notifier.services.deadlines.reminders import LadderRules
from notifier.services.enterprises.listings import local
from notifier.store import deadlines as store
from notifier.web.api.schemas import DeadlineChanged, DeadlineOut, DoneOut
from notifier.web.auditing import record_change
from notifier.web.auth import Principal, Staff
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/deadlines", tags=["deadlines"])


def deadline_state(runtime: Runtime, deadline_id: int) -> dict[str, Any]:
    """A deadline's due time and whether it is cancelled, for the audit log."""
    with runtime.sessions() as session:
        deadline = store.get(session, deadline_id)
        if deadline is None:
            raise NotFoundError(f"deadline {deadline_id}: no such deadline", field="deadline")
        return {
            "due_at": local(deadline.due_at, runtime.settings.zone),
            "cancelled": deadline.cancelled_at is not None,
        }


@router.get("", response_model=list[DeadlineOut], summary="截止日期与提醒 / deadlines")
def list_deadlines(
    runtime: RuntimeDep, _: Staff, limit: Annotated[int | None, Query(ge=1, le=1000)] = None
) -> list[dict[str, Any]]:
    """Each deadline, its reminder rungs and which went out."""
    settings = runtime.settings
    return report(
        runtime.sessions,
        settings=settings.reminders,
        zone=settings.zone,
        time_source=runtime.time_source,
        limit=limit,
    )


def _changed(runtime: Runtime, changed: Any) -> dict[str, Any]:
    return {
        "deadline_id": changed.deadline_id,
        "due_at": local(changed.due_at, runtime.settings.zone),
        "cancelled_triggers": changed.cancelled_triggers,
        "cancelled_deliveries": changed.cancelled_deliveries,
    }


def _audited(
    runtime: Runtime,
    principal: Principal,
    action: str,
    deadline_id: int,
    change: Callable[[], Changed],
) -> dict[str, Any]:
    """Make ``change`` to a deadline and log it in the audit log with before and after."""
    before = deadline_state(runtime, deadline_id)
    changed = change()
    record_change(
        runtime,
        principal,
        action=action,
        target_type="deadline",
        target_id=deadline_id,
        before=before,
        after=deadline_state(runtime, deadline_id),
    )
    return _changed(runtime, changed)


@router.post(
    "/{deadline_id}/move", response_model=DeadlineChanged, summary="改期 / move a deadline"
)
def move(runtime: RuntimeDep, principal: Staff, deadline_id: Id, body: MoveIn) -> dict[str, Any]:
    """Move a deadline; its unsent rungs follow (a date alone is the end of that day)."""
    try:
        due = read_due_at(body.due_at, zone=runtime.settings.zone)
    except InputError as exc:
        raise InputError(f"due_at: {exc}", field="due_at") from None
    return _audited(
        runtime,
        principal,
        "deadline.move",
        deadline_id,
        lambda: move_deadline(
            runtime.sessions,
            deadline_id,
            due,
            time_source=runtime.time_source,
            ladders=LadderRules.of(runtime.settings),
        ),
    )


@router.post(
    "/{deadline_id}/cancel", response_model=DeadlineChanged, summary="取消 / cancel a deadline"
)
def cancel(runtime: RuntimeDep, principal: Staff, deadline_id: Id) -> dict[str, Any]:
    """Cancel a deadline: no more reminders, unsent ones cancelled."""
    return _audited(
        runtime,
        principal,
        "deadline.cancel",
        deadline_id,
        lambda: cancel_deadline(runtime.sessions, deadline_id, time_source=runtime.time_source),
    )


@router.post(
    "/{deadline_id}/done", response_model=DoneOut, summary="标记企业已办 / mark done for one"
)
def done(runtime: RuntimeDep, principal: Staff, deadline_id: Id, body: DoneIn) -> dict[str, Any]:
    """Record that an enterprise has done the deadline: no more reminders for it."""
    new = mark_done(runtime.sessions, deadline_id, body.credit_code,
    time_source=runtime.time_source)
    code = body.credit_code.strip().upper()
    record_change(
        runtime,
        principal,
        action="deadline.done",
        target_type="deadline",
        target_id=deadline_id,
        before=None,
        after={"credit_code": code, "new": new},
    )
    return {"deadline_id": deadline_id, "credit_code": code, "new": new}
