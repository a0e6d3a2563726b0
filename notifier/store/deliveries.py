"""Deliveries: created from recipients, queued, claimed, recorded, swept and listed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from notifier.models import Delivery, DeliveryAttempt, DeliveryStatus, Policy, Trigger
from notifier.models.base import UTCDateTime
from notifier.store import insert_ignoring_conflicts
from notifier.store.audience import Recipient

S = DeliveryStatus


def idempotency_key(trigger_key: str, credit_code: str, channel: str, address: str) -> str:
    """The delivery's unique key: the same trigger never makes a second message to a recipient."""
    raw = "|".join((trigger_key, credit_code, channel, address))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def insert_for_recipients(
    session: Session, trigger: Trigger, recipients: Sequence[Recipient]
) -> None:
    """Insert one pending delivery per recipient; rows that already exist are left alone."""
    if not recipients:
        return
    rows = [
        {
            "idempotency_key": idempotency_key(trigger.key, r.credit_code, r.channel, r.address),
            "trigger_id": trigger.id,
            "policy_id": trigger.policy_id,
            "enterprise_id": r.enterprise_id,
            "channel": r.channel,
            "address": r.address,
            "reason": r.reason,
            "status": S.PENDING,
            "attempts": 0,
        }
        for r in recipients
    ]
    session.execute(insert_ignoring_conflicts(session, Delivery.__table__), rows)


def queue_pending(session: Session, trigger_id: int, *, limit: int, now: datetime) -> list[int]:
    """Move up to ``limit`` pending deliveries of a trigger to queued; return their ids."""
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.trigger_id == trigger_id, Delivery.status == S.PENDING)
            .order_by(Delivery.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    # Re-checking the status makes two concurrent fan-outs queue each delivery once.
    return list(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == S.PENDING)
            .values(status=S.QUEUED, queued_at=now)
            .returning(Delivery.id)
        )
    )


def count_for_trigger(session: Session, trigger_id: int) -> int:
    """How many deliveries a trigger has."""
    return (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.trigger_id == trigger_id)
        )
        or 0
    )


def _claimable(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Queued, or deferred and due: what a worker may take."""
    return or_(
        Delivery.status == S.QUEUED,
        (Delivery.status == S.DEFERRED)
        & or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )


_deliveries = Delivery.__table__.c
_NOW = bindparam("now", type_=UTCDateTime())
# Built once: per-message statements dominate a worker's time when they are built each time.
_CLAIM = (
    update(Delivery.__table__)
    .where(_deliveries.id == bindparam("delivery_id"), _claimable(_NOW))
    .values(status=S.SENDING, claimed_at=_NOW, attempts=_deliveries.attempts + 1)
    .returning(_deliveries.attempts)
)


def load_for_sending(session: Session, ids: Sequence[int], *, now: datetime) -> list[Delivery]:
    """The deliveries among ``ids`` that are due, with all that rendering needs loaded up front.

    Nothing may load lazily later: a query during a send would hold a transaction (and on
    SQLite the write lock) across the network call.
    """
    query = (
        select(Delivery)
        .where(Delivery.id.in_(ids), _claimable(now))
        .order_by(Delivery.id)
        .options(
            selectinload(Delivery.enterprise),
            selectinload(Delivery.trigger)
            .selectinload(Trigger.policy)
            .selectinload(Policy.deadlines),
            selectinload(Delivery.trigger).selectinload(Trigger.deadline),
        )
    )
    return list(session.scalars(query))


def claim(session: Session, delivery: Delivery, *, now: datetime) -> bool:
    """Atomically take one delivery for sending, just before it is sent.

    Only one worker wins a delivery, however many messages carry its id (a duplicate from the
    broker, a sweep, a retry). The winner's ``delivery.attempts`` is brought up to date.
    """
    attempts = session.connection().scalar(_CLAIM, {"delivery_id": delivery.id, "now": now})
    if attempts is None:
        return False
    # Not a change to flush: the row already holds it.
    set_committed_value(delivery, "attempts", attempts)
    return True


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status: DeliveryStatus
    provider: str | None = None
    provider_message_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


_RECORD_ATTEMPT = insert(DeliveryAttempt.__table__)
_RECORD_OUTCOME = (
    update(Delivery.__table__)
    .where(_deliveries.id == bindparam("delivery_id"))
    .values(
        status=bindparam("status"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("next_attempt_at", type_=UTCDateTime()),
        updated_at=bindparam("now", type_=UTCDateTime()),
        provider=func.coalesce(bindparam("provider", type_=String()), _deliveries.provider),
        provider_message_id=func.coalesce(
            bindparam("provider_message_id", type_=String()), _deliveries.provider_message_id
        ),
        sent_at=func.coalesce(bindparam("sent_at", type_=UTCDateTime()), _deliveries.sent_at),
    )
)


def record(
    session: Session, delivery: Delivery, outcome: Outcome, *, started_at: datetime, now: datetime
) -> None:
    """Record an attempt and move the delivery to its new status.

    Plain statements rather than the unit of work: a worker's session holds a whole batch, and
    flushing it after every message would re-scan every object each time.
    """
    session.connection().execute(
        _RECORD_ATTEMPT,
        {
            "delivery_id": delivery.id,
            "number": delivery.attempts,
            "outcome": outcome.status,
            "provider": outcome.provider,
            "provider_message_id": outcome.provider_message_id,
            "error": outcome.error,
            "started_at": started_at,
            "finished_at": now,
        },
    )
    sent = outcome.status == S.SENT
    session.connection().execute(
        _RECORD_OUTCOME,
        {
            "delivery_id": delivery.id,
            "status": outcome.status,
            "error": outcome.error,
            "next_attempt_at": outcome.next_attempt_at,
            "now": now,
            "provider": outcome.provider,
            "provider_message_id": outcome.provider_message_id if sent else None,
            "sent_at": now if sent else None,
        },
    )


def sweep(
    session: Session, *, now: datetime, stuck_after: timedelta, max_attempts: int, limit: int
) -> list[int]:
    """Put back on the queue up to ``limit`` deliveries that were lost on the way; return them.

    A delivery is lost when it sat ``sending`` (its worker died), ``queued`` (its broker message
    was lost), ``pending`` (its fan-out stopped before queueing) or ``deferred`` past its retry
    time for longer than ``stuck_after``. One that died while sending on every allowed attempt
    is failed instead, so a message that crashes workers cannot loop for ever.

    A long backlog also looks "lost" after ``stuck_after``; ``limit`` bounds the extra messages
    such a sweep adds (the claim makes them harmless), and their reset ``queued_at`` keeps the
    same rows from being swept again before another ``stuck_after`` has passed.
    """
    cutoff = now - stuck_after
    session.execute(
        update(Delivery)
        .where(
            Delivery.status == S.SENDING,
            Delivery.claimed_at <= cutoff,
            Delivery.attempts >= max_attempts,
        )
        .values(status=S.FAILED, last_error="worker stopped while sending, on every attempt")
    )
    lost = or_(
        (Delivery.status == S.SENDING) & (Delivery.claimed_at <= cutoff),
        (Delivery.status == S.QUEUED) & (Delivery.queued_at <= cutoff),
        (Delivery.status == S.PENDING) & (Delivery.created_at <= cutoff),
        (Delivery.status == S.DEFERRED) & (Delivery.next_attempt_at <= cutoff),
    )
    ids = list(session.scalars(select(Delivery.id).where(lost).order_by(Delivery.id).limit(limit)))
    if not ids:
        return []
    return list(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), lost)
            .values(status=S.QUEUED, queued_at=now, claimed_at=None)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )


@dataclass(frozen=True)
class DeliveryFilter:
    """Filters for listing deliveries."""

    policy_id: int | None = None
    trigger_id: int | None = None
    status: str | None = None
    channel: str | None = None


def _filtered(query: Select, filters: DeliveryFilter) -> Select:
    if filters.policy_id is not None:
        query = query.where(Delivery.policy_id == filters.policy_id)
    if filters.trigger_id is not None:
        query = query.where(Delivery.trigger_id == filters.trigger_id)
    if filters.status:
        query = query.where(Delivery.status == filters.status)
    if filters.channel:
        query = query.where(Delivery.channel == filters.channel)
    return query


def list_deliveries(
    session: Session, filters: DeliveryFilter, *, limit: int | None = 50
) -> list[Delivery]:
    """Deliveries matching ``filters``, newest first."""
    query = _filtered(select(Delivery), filters).order_by(Delivery.id.desc())
    query = query.options(selectinload(Delivery.enterprise), selectinload(Delivery.trigger))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def status_counts(session: Session, filters: DeliveryFilter | None = None) -> dict[str, int]:
    """How many deliveries are in each status (only statuses that occur)."""
    query = select(Delivery.status, func.count()).group_by(Delivery.status)
    query = _filtered(query, filters or DeliveryFilter())
    return {status: number for status, number in session.execute(query)}


def channel_status_counts(
    session: Session, filters: DeliveryFilter | None = None
) -> dict[str, dict[str, int]]:
    """How many deliveries per channel and status."""
    query = select(Delivery.channel, Delivery.status, func.count()).group_by(
        Delivery.channel, Delivery.status
    )
    counts: dict[str, dict[str, int]] = {}
    for channel, status, number in session.execute(_filtered(query, filters or DeliveryFilter())):
        counts.setdefault(channel, {})[status] = number
    return counts


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    """One delivery with its enterprise and trigger, or None when there is no such id."""
    query = (
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .options(selectinload(Delivery.enterprise), selectinload(Delivery.trigger))
    )
    return session.scalars(query).first()


def attempts_of(session: Session, delivery_id: int) -> list[DeliveryAttempt]:
    """Every attempt at a delivery, first first."""
    query = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
    )
    return list(session.scalars(query))


def policy_exists(session: Session, policy_id: int) -> bool:
    """Whether a policy with this id exists."""
    return session.scalar(select(Policy.id).where(Policy.id == policy_id)) is not None
