"""What staff and enterprises do to a deadline: move it, cancel it, mark it done, list it.

A move changes the due time, so the rungs not yet made are simply computed from the new date;
rungs already made but not yet fanned out for the old date are cancelled. A rung that went out
is not sent again. A cancel cancels those and every reminder delivery not yet sent. An
enterprise that marks a deadline done is left out of its next rungs, and its reminder
deliveries not yet sent are cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.reach import ReachState
from notifier.domain.records import DeadlineDraft
from notifier.domain.targets import read_credit_code
from notifier.domain.tokens import read_deadline_done_token
from notifier.domain.workdays import CalendarYearUnknown
from notifier.errors import ConflictError, InputError, NotFoundError
from notifier.services import audit
from notifier.services.calendar.working_days import working_calendar
from notifier.services.context import Actor, Context
from notifier.services.deadlines.reminders import LadderRules, PlannedRung, ladder_of, plan
from notifier.services.delivery.kinds import local
from notifier.services.enterprises.listings import local as iso_local
from notifier.store import deadlines as store
from notifier.store import enterprises, reach_states
from notifier.store.models import Deadline, Enterprise, Trigger

log = logging.getLogger(__name__)


def _deadline(session: Any, deadline_id: int) -> Deadline:
    deadline = store.get(session, deadline_id)
    if deadline is None:
        raise NotFoundError(f"deadline {deadline_id}: no such deadline", field="deadline")
    return deadline


@dataclass(frozen=True)
class Changed:
    """What a move or cancel did: rung triggers and deliveries cancelled."""

    deadline_id: int
    due_at: datetime
    cancelled_triggers: int
    cancelled_deliveries: int = 0


def move(session: Session, deadline: Deadline, new_due: datetime, *, now: datetime) -> int:
    """Move ``deadline`` to ``new_due`` in the caller's transaction; return the rungs cancelled.

    The rungs made for the old date and not yet fanned out are cancelled; the clock makes the
    new date's rungs, except those that already went out.
    """
    old = deadline.due_at
    deadline.due_at = new_due
    reason = f"deadline moved from {old.isoformat()} to {new_due.isoformat()}"
    return store.cancel_pending_reminders(session, deadline.id, reason=reason, now=now)


def cancel(
    session: Session, deadline: Deadline, *, now: datetime, reason: str
) -> tuple[int, int]:
    """Cancel ``deadline`` in the caller's transaction; return the rungs and deliveries
    cancelled (a send under way finishes)."""
    deadline.cancelled_at = deadline.cancelled_at or now
    triggers = store.cancel_pending_reminders(session, deadline.id, reason=reason, now=now)
    deliveries = store.cancel_unsent_deliveries(session, deadline.id, reason=reason)
    return triggers, deliveries


def _state(deadline: Deadline, zone: tzinfo) -> dict[str, Any]:
    """A deadline's due time and whether it is cancelled: the audit log's before and after."""
    cancelled = deadline.cancelled_at is not None
    return {"due_at": iso_local(deadline.due_at, zone), "cancelled": cancelled}


def _record(
    session: Session, context: Context, verb: str, deadline_id: int, before: Any, after: Any
) -> None:
    audit.record(
        session,
        context,
        action=f"deadline.{verb}",
        target_type="deadline",
        target_id=deadline_id,
        before=before,
        after=after,
    )


def move_deadline(context: Context, deadline_id: int, new_due: datetime) -> Changed:
    """Move a deadline to ``new_due``; its unsent rungs follow. Audited (``deadline.move``)
    in the same transaction.

    Raises:
        NotFoundError: no such deadline.
        ConflictError: it was cancelled.
        InputError: ``new_due`` has passed.
        CalendarYearUnknown: its working-day rungs for ``new_due`` need a year the calendar
            does not know.
    """
    now = context.time_source.now()
    zone = context.settings.zone
    if new_due <= now:
        raise InputError("new due time: has already passed", field="due_at")
    with context.sessions.begin() as session:
        deadline = _deadline(session, deadline_id)
        if deadline.cancelled_at is not None:
            raise ConflictError(f"deadline {deadline_id}: was cancelled", field="deadline")
        moved = DeadlineDraft(
            deadline.title, new_due, None if deadline.remind is None else tuple(deadline.remind)
        )
        try:
            LadderRules.of(context.settings).check(session, [moved], now=now)
        except CalendarYearUnknown as exc:
            raise CalendarYearUnknown(exc.year, field="due_at") from None
        before = _state(deadline, zone)
        cancelled = move(session, deadline, new_due, now=now)
        _record(session, context, "move", deadline_id, before, _state(deadline, zone))
    log.info("deadline %s moved to %s; %s rungs cancelled", deadline_id, new_due, cancelled)
    return Changed(deadline_id, new_due, cancelled)


def cancel_deadline(context: Context, deadline_id: int) -> Changed:
    """Cancel a deadline: nothing more is sent for it (a send under way finishes). Audited
    (``deadline.cancel``) in the same transaction.

    Raises:
        NotFoundError: no such deadline.
    """
    now = context.time_source.now()
    zone = context.settings.zone
    with context.sessions.begin() as session:
        deadline = _deadline(session, deadline_id)
        before = _state(deadline, zone)
        triggers, deliveries = cancel(session, deadline, now=now, reason="deadline cancelled")
        due_at = deadline.due_at
        _record(session, context, "cancel", deadline_id, before, _state(deadline, zone))
    log.info("deadline %s cancelled (%s rungs, %s deliveries)", deadline_id, triggers, deliveries)
    return Changed(deadline_id, due_at, triggers, deliveries)


def mark_done(context: Context, deadline_id: int, credit_code: str) -> bool:
    """Record that the enterprise ``credit_code`` has done the deadline: no more reminders.
    Audited (``deadline.done``) in the same transaction.

    Returns:
        False when it had already said so.

    Raises:
        InputError: a malformed credit code.
        NotFoundError: no such deadline or enterprise.
    """
    code = read_credit_code(credit_code)
    with context.sessions.begin() as session:
        enterprise = enterprises.get_by_credit_code(session, code, scope=context.scope)
        if enterprise is None:
            raise NotFoundError(f"credit_code: no enterprise {code}", field="credit_code")
        return record_done(session, context, deadline_id, enterprise)


def mark_done_by_token(context: Context, token: str, *, secrets: Sequence[str]) -> bool:
    """What the link in a reminder does (the enterprise page calls this): the token's
    enterprise has done the token's deadline. The audit row names that enterprise as the
    actor (``enterprise:<id>``, as on its other pages, on the face of ``context``).

    Parameters:
        secrets: the deployment's keys, newest first (``secret_key``, then ``old_secret_keys``).

    Raises:
        InputError: the token is malformed or not signed by any of the keys, or names a
            deadline or an enterprise that no longer exists.
    """
    deadline_id, enterprise_id = read_deadline_done_token(secrets, token)
    with context.sessions.begin() as session:
        enterprise = session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise NotFoundError(f"enterprise {enterprise_id}: no such enterprise", field="token")
        actor = Actor(
            name=f"enterprise:{enterprise.id}", role="enterprise",
            face=context.actor.face,
        )
        return record_done(session, replace(context, actor=actor), deadline_id, enterprise)


def record_done(
    session: Session, context: Context, deadline_id: int, enterprise: Enterprise
) -> bool:
    """In the caller's transaction: the enterprise has done the deadline (its unsent reminders
    cancelled, audited ``deadline.done`` as ``context``'s actor when new); False when it had
    said so before.

    Raises:
        NotFoundError: no such deadline.
    """
    deadline = _deadline(session, deadline_id)
    now = context.time_source.now()
    new = store.mark_done(session, deadline_id=deadline_id, enterprise_id=enterprise.id, now=now)
    # Whichever way it came (the firm's link or page, staff on its behalf): the policy's reach.
    reach_states.advance(session, deadline.policy_id, enterprise.id, ReachState.DONE, now=now)
    store.cancel_unsent_deliveries(
        session,
        deadline_id,
        reason="the enterprise marked the deadline done",
        enterprise_id=enterprise.id,
    )
    if new:
        _record(
            session, context, "done", deadline_id, None,
            {"credit_code": enterprise.credit_code, "new": new},
        )
    return new


def _rung_state(rung: PlannedRung, by_key: dict[str, Trigger], now: datetime) -> dict[str, Any]:
    if rung.unknown is not None:
        return {"state": "no_calendar", "note": str(rung.unknown)}
    trigger = by_key.get(rung.key)
    if trigger is not None:
        return {
            "state": trigger.status,
            "trigger_id": trigger.id,
            "recipients": trigger.recipients,
            "note": trigger.error,
        }
    if rung.skipped:
        return {"state": "skipped", "note": rung.skipped}
    return {"state": "due" if rung.at <= now else "scheduled"}


def report(
    context: Context,
    *,
    limit: int | None = None,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every deadline (due in ``[due_from, due_before)`` when given) with its rungs and which
    went out, for ``notifier deadlines list`` and the console's month calendar.

    Each rung of the current ladder is listed with its time and state (``scheduled``, ``due``,
    ``skipped``, ``no_calendar`` (its year is not entered), or its trigger's: ``pending``,
    ``running``, ``done``, ``failed``, ``missed``, ``cancelled``); rungs made for an earlier
    date of a moved deadline are listed too.
    """
    settings, zone = context.settings.reminders, context.settings.zone
    sessions, time_source = context.sessions, context.time_source
    now = time_source.now()
    with sessions.begin() as session:
        calendar = working_calendar(session, now=now)
        rows = store.listed(session, limit=limit, due_from=due_from, due_before=due_before)
        ids = [d.id for d in rows]
        made = store.reminder_triggers(session, ids)
        done = store.done_counts(session, ids, scope=context.scope)
        result = []
        for deadline in rows:
            mine = {t.key: t for t in made if t.deadline_id == deadline.id}
            planned = plan(deadline, settings, zone, calendar)
            rungs = [
                {"rung": r.label, "at": local(r.at, zone), **_rung_state(r, mine, now)}
                for r in planned
            ]
            if not context.scope.district:  # a rung's recipients are the district's count
                for rung in rungs:
                    rung.pop("recipients", None)
            if deadline.cancelled_at is not None:  # what had not been made never will be
                for rung in rungs:
                    if rung["state"] in ("scheduled", "due"):
                        rung["state"] = "cancelled"
            current = {r.key for r in planned}
            rungs += [
                {
                    "rung": store.rung_label(t.key),
                    "at": local(t.due_at, zone),
                    "state": t.status,
                    "trigger_id": t.id,
                    "recipients": t.recipients if context.scope.district else None,
                    "note": t.error,
                }
                for key, t in mine.items()
                if key not in current
            ]
            result.append(
                {
                    "id": deadline.id,
                    "policy_id": deadline.policy_id,
                    "policy": deadline.policy.title,
                    "title": deadline.title,
                    "due_at": local(deadline.due_at, zone),
                    "cancelled": deadline.cancelled_at is not None,
                    "ladder": list(ladder_of(deadline, settings)),
                    "done": done.get(deadline.id, 0),
                    "rungs": sorted(rungs, key=lambda r: r["at"]),
                }
            )
    return result
