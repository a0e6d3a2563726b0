"""Triggers: created once per key, then fanned out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from notifier.store import insert_ignoring_conflicts, table_of
from notifier.store.models import Policy, Trigger, TriggerKind, TriggerStatus


def policy_published_key(policy_id: int) -> str:
    """The unique key of a policy's publish trigger."""
    return f"{TriggerKind.POLICY_PUBLISHED}:{policy_id}"


def policy_corrected_key(policy_id: int, revision_number: int) -> str:
    """The unique key of the correction sent for one revision of a policy."""
    return f"{TriggerKind.POLICY_CORRECTED}:{policy_id}:{revision_number}"


def policy_resent_key(policy_id: int, working_days: int, channel: str) -> str:
    """The unique key of a reach ladder's re-send of a policy on one rung and channel."""
    return f"{TriggerKind.POLICY_RESENT}:{policy_id}:{working_days}:{channel}"


def resent_rung(key: str) -> int:
    """The rung (working days) a re-send trigger's key names."""
    return int(key.split(":")[2])


def revision_number(key: str) -> int:
    """The revision a correction trigger's key names."""
    return int(key.rsplit(":", 1)[1])


def ensure(session: Session, *, key: str, **fields: Any) -> Trigger:
    """Return the trigger with ``key``, creating it if it does not exist (race-safe).

    ``fields`` are :func:`insert_new`'s, those of a new trigger (a missed one is made
    ``missed`` with its reason); an existing trigger is returned as it is.
    """
    insert_new(session, key=key, **fields)
    trigger = session.scalar(select(Trigger).where(Trigger.key == key))
    assert trigger is not None  # just inserted or already there
    return trigger


def insert_new(
    session: Session,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    policy_id: int | None = None,
    deadline_id: int | None = None,
    status: str = TriggerStatus.PENDING,
    error: str | None = None,
    campaign_id: int | None = None,
    templates: dict[str, Any] | None = None,
    audience: dict[str, Any] | None = None,
) -> int | None:
    """Insert the trigger with ``key``; its id, or None when it already existed (race-safe:
    of two clocks inserting it at once, exactly one gets the id)."""
    statement = (
        insert_ignoring_conflicts(session, table_of(Trigger))
        .values(
            key=key,
            kind=kind,
            due_at=due_at,
            policy_id=policy_id,
            deadline_id=deadline_id,
            status=status,
            error=error,
            recipients=0,
            campaign_id=campaign_id,
            templates=templates,
            audience=audience,
        )
        .returning(table_of(Trigger).c.id)
    )
    made: int | None = session.scalar(statement)
    return made


def ensure_policy_published(
    session: Session, policy: Policy, *, missed: str | None = None
) -> Trigger:
    """The publish trigger of ``policy`` (a new one ``missed`` with that reason, if given)."""
    return ensure(
        session,
        key=policy_published_key(policy.id),
        kind=TriggerKind.POLICY_PUBLISHED,
        due_at=policy.published_at,
        policy_id=policy.id,
        status=TriggerStatus.MISSED if missed else TriggerStatus.PENDING,
        error=missed,
    )


def of_key(session: Session, key: str) -> Trigger | None:
    """The trigger with this unique key, or None."""
    return session.scalar(select(Trigger).where(Trigger.key == key))


def message_class_of(trigger: Trigger) -> str:
    """The class (notice, marketing) of the messages a trigger sends: its campaign's, or its
    policy's (a deadline reminder, a correction and a re-send take their policy's)."""
    if trigger.campaign is not None:
        return trigger.campaign.message_class
    policy = trigger.policy or (trigger.deadline.policy if trigger.deadline else None)
    return policy.message_class if policy is not None else "notice"


def get(session: Session, trigger_id: int) -> Trigger | None:
    """The trigger with this id, or None."""
    return session.get(Trigger, trigger_id)


def start(session: Session, trigger: Trigger, *, now: datetime) -> None:
    """Mark the fan-out as running (a finished one stays done when it is run again)."""
    if trigger.status != TriggerStatus.DONE:
        trigger.status = TriggerStatus.RUNNING
    trigger.started_at = trigger.started_at or now


def finish(session: Session, trigger: Trigger, *, recipients: int, now: datetime) -> None:
    """Mark the fan-out as done, with how many deliveries it covers."""
    trigger.status = TriggerStatus.DONE
    trigger.recipients = recipients
    trigger.finished_at = now


def fail(session: Session, trigger: Trigger, *, reason: str, now: datetime) -> None:
    """End the trigger for good: it cannot be fanned out as it is."""
    trigger.status = TriggerStatus.FAILED
    trigger.error = reason[:2000]
    trigger.finished_at = now


def beat(session: Session, trigger: Trigger, *, now: datetime) -> None:
    """Record that the trigger's fan-out is alive (or has just been queued)."""
    trigger.heartbeat_at = now


def unfinished(session: Session, *, now: datetime, quiet_for: timedelta) -> list[int]:
    """Pending or running triggers whose heartbeat went quiet: their fan-out message was lost.

    Their heartbeat is reset, so the next sweep waits again before queueing them once more.
    """
    query = select(Trigger.id).where(
        Trigger.status.in_([TriggerStatus.PENDING, TriggerStatus.RUNNING]),
        Trigger.heartbeat_at <= now - quiet_for,
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(Trigger).where(Trigger.id.in_(ids)).values(heartbeat_at=now))
    return ids


def of_kind(
    session: Session, owner: InstrumentedAttribute[int | None], ids: Sequence[int], *, kind: str
) -> list[Trigger]:
    """The ``kind`` triggers whose ``owner`` column (``Trigger.campaign_id``...) is one of
    ``ids``, oldest first."""
    if not ids:
        return []
    query = (
        select(Trigger)
        .where(owner.in_(list(ids)), Trigger.kind == kind)
        .order_by(Trigger.due_at, Trigger.id)
    )
    return list(session.scalars(query))


def cancel_pending(
    session: Session, which: ColumnElement[bool], *, reason: str, now: datetime
) -> int:
    """Cancel the triggers ``which`` selects that are not yet fanned out; return how many.

    A fan-out message still on its way finds its trigger cancelled and does nothing.
    """
    result = session.execute(
        update(Trigger)
        .where(which, Trigger.status == TriggerStatus.PENDING)
        .values(status=TriggerStatus.CANCELLED, error=reason, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def cancel_pending_for_policy(
    session: Session, policy_id: int, *, reason: str, now: datetime
) -> int:
    """Cancel the policy's triggers not yet fanned out (any kind); return how many."""
    return cancel_pending(session, Trigger.policy_id == policy_id, reason=reason, now=now)
