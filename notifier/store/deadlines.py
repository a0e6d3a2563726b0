"""Deadlines: the ones to remind of, their reminder triggers, moves, cancels and done marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from notifier.domain.scope import DISTRICT, Scope
from notifier.store import insert_ignoring_conflicts, table_of, triggers
from notifier.store.models import (
    Deadline,
    DeadlineDone,
    Delivery,
    DeliveryStatus,
    Enterprise,
    Policy,
    Trigger,
    TriggerKind,
)
from notifier.store.scope import counted_in, firms_in, owned_in

UNSENT = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)


def reminder_key(deadline_id: int, label: str, at: datetime) -> str:
    """The unique key of one rung of one deadline at one time (a moved rung gets a new key)."""
    return f"{TriggerKind.DEADLINE_REMINDER}:{deadline_id}:{label}:{at:%Y%m%dT%H%MZ}"


def rung_label(key: str) -> str:
    """The rung (``2wd``) a reminder trigger's key names."""
    return key.split(":")[2]


def get(session: Session, deadline_id: int) -> Deadline | None:
    """The deadline with this id (its policy loaded), or None."""
    return session.scalar(
        select(Deadline).where(Deadline.id == deadline_id).options(selectinload(Deadline.policy))
    )


def to_remind(session: Session, *, now: datetime, due_after: datetime) -> list[Deadline]:
    """Deadlines not cancelled, due after ``due_after``, whose policy is published by ``now``
    (and not held for approval)."""
    query = (
        select(Deadline)
        .join(Policy, Policy.id == Deadline.policy_id)
        .where(
            Deadline.cancelled_at.is_(None),
            Deadline.due_at > due_after,
            Policy.published_at <= now,
            Policy.held.is_(False),
        )
        .order_by(Deadline.due_at, Deadline.id)
        .options(selectinload(Deadline.policy))
    )
    return list(session.scalars(query))


def listed(
    session: Session,
    *,
    limit: int | None = None,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
) -> list[Deadline]:
    """Every deadline (due in ``[due_from, due_before)`` when given), soonest due first,
    with its policy."""
    query = select(Deadline).order_by(Deadline.due_at, Deadline.id)
    if due_from is not None:
        query = query.where(Deadline.due_at >= due_from)
    if due_before is not None:
        query = query.where(Deadline.due_at < due_before)
    query = query.options(selectinload(Deadline.policy))
    return list(session.scalars(query if limit is None else query.limit(limit)))


def reminder_triggers(session: Session, deadline_ids: Sequence[int]) -> list[Trigger]:
    """The reminder triggers of these deadlines, oldest first."""
    return triggers.of_kind(
        session, Trigger.deadline_id, deadline_ids, kind=TriggerKind.DEADLINE_REMINDER
    )


def cancel_pending_reminders(
    session: Session, deadline_id: int, *, reason: str, now: datetime
) -> int:
    """Cancel the deadline's reminder triggers not yet fanned out; return how many."""
    return triggers.cancel_pending(
        session, Trigger.deadline_id == deadline_id, reason=reason, now=now
    )


def cancel_unsent_deliveries(
    session: Session, deadline_id: int, *, reason: str, enterprise_id: int | None = None
) -> int:
    """Cancel the reminder deliveries of a deadline not yet sent (for one enterprise, or all).

    A delivery being sent at this moment (``sending``) finishes; no other is claimed after.
    """
    of_deadline = select(Trigger.id).where(Trigger.deadline_id == deadline_id)
    query = update(Delivery).where(
        Delivery.trigger_id.in_(of_deadline), Delivery.status.in_(list(UNSENT))
    )
    if enterprise_id is not None:
        query = query.where(Delivery.enterprise_id == enterprise_id)
    result = session.execute(
        query.values(
            status=DeliveryStatus.CANCELLED, last_error=reason, next_attempt_at=None
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_done(session: Session, *, deadline_id: int, enterprise_id: int, now: datetime) -> bool:
    """Record that an enterprise has done a deadline; False when it had already said so."""
    statement = (
        insert_ignoring_conflicts(session, table_of(DeadlineDone))
        .values(deadline_id=deadline_id, enterprise_id=enterprise_id, done_at=now)
        .returning(table_of(DeadlineDone).c.id)
    )
    return session.scalar(statement) is not None


def done_counts(
    session: Session, deadline_ids: Sequence[int], *, scope: Scope = DISTRICT
) -> dict[int, int]:
    """How many enterprises (that ``scope`` counts) marked each of these deadlines done (only
    those with any)."""
    if not deadline_ids:
        return {}
    query = (
        select(DeadlineDone.deadline_id, func.count())
        .where(
            DeadlineDone.deadline_id.in_(list(deadline_ids)),
            owned_in(DeadlineDone.enterprise_id, scope, counting=True),
        )
        .group_by(DeadlineDone.deadline_id)
    )
    return {deadline_id: number for deadline_id, number in session.execute(query)}


def _reached(enterprise_id: int) -> Any:
    """Ids of the policies that reached an enterprise (a delivery of theirs went to it)."""
    return select(Delivery.policy_id).where(
        Delivery.enterprise_id == enterprise_id, Delivery.policy_id.is_not(None)
    )


def of_enterprise(session: Session, enterprise_id: int, *, limit: int = 200) -> list[Deadline]:
    """The deadlines of the policies that reached an enterprise, soonest due first."""
    query = (
        select(Deadline)
        .where(Deadline.policy_id.in_(_reached(enterprise_id)))
        .order_by(Deadline.due_at, Deadline.id)
        .options(selectinload(Deadline.policy))
        .limit(limit)
    )
    return list(session.scalars(query))


def concerns(session: Session, deadline_id: int, enterprise_id: int) -> bool:
    """Whether the deadline belongs to a policy that reached the enterprise."""
    query = select(Deadline.id).where(
        Deadline.id == deadline_id, Deadline.policy_id.in_(_reached(enterprise_id))
    )
    return session.scalar(query) is not None


def done_by(session: Session, enterprise_id: int) -> set[int]:
    """The deadlines an enterprise marked done."""
    query = select(DeadlineDone.deadline_id).where(DeadlineDone.enterprise_id == enterprise_id)
    return set(session.scalars(query))


def _reached_by_policy(policy_id: int) -> Any:
    """Ids of the enterprises a policy reached (a delivery of it went to them)."""
    return select(Delivery.enterprise_id).where(Delivery.policy_id == policy_id).distinct()


def _is_done(deadline_id: int) -> Any:
    return exists().where(
        DeadlineDone.deadline_id == deadline_id, DeadlineDone.enterprise_id == Enterprise.id
    )


def not_done_query(deadline: Deadline, scope: Scope = DISTRICT) -> Select[Enterprise]:
    """The enterprises (in ``scope``) its policy reached that have not marked ``deadline``
    done, by credit code, their contacts loaded (for paging)."""
    return (
        select(Enterprise)
        .where(
            Enterprise.id.in_(_reached_by_policy(deadline.policy_id)),
            ~_is_done(deadline.id),
            firms_in(scope),
        )
        .order_by(Enterprise.credit_code)
        .options(selectinload(Enterprise.contacts))
    )


def reach_counts(
    session: Session, deadline: Deadline, scope: Scope = DISTRICT
) -> tuple[int, int]:
    """How many enterprises (that ``scope`` counts) its policy reached, and how many of those
    marked it done."""
    reached = and_(Enterprise.id.in_(_reached_by_policy(deadline.policy_id)), counted_in(scope))
    targeted = session.scalar(select(func.count()).select_from(Enterprise).where(reached))
    done = session.scalar(
        select(func.count()).select_from(Enterprise).where(reached, _is_done(deadline.id))
    )
    return int(targeted or 0), int(done or 0)


def last_deliveries(
    session: Session, policy_id: int, enterprise_ids: Sequence[int]
) -> dict[int, Delivery]:
    """The newest delivery of the policy (or of its reminders) to each of these enterprises."""
    if not enterprise_ids:
        return {}
    newest = (
        select(func.max(Delivery.id))
        .where(Delivery.policy_id == policy_id, Delivery.enterprise_id.in_(enterprise_ids))
        .group_by(Delivery.enterprise_id)
    )
    found = session.scalars(select(Delivery).where(Delivery.id.in_(newest)))
    return {d.enterprise_id: d for d in found}
