"""Reach events: what firms did on their policy pages (``reach_events``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from notifier.store import insert_ignoring_conflicts, table_of
from notifier.store.models import Delivery, ReachEvent


def add_once(
    session: Session,
    *,
    policy_id: int,
    enterprise_id: int,
    kind: str,
    key: str,
    detail: dict[str, Any],
    at: datetime,
) -> bool:
    """Store the event unless one with the same ``key`` exists for the firm and policy
    (race-safe: of two presses at once, one row); True when it is new."""
    table = table_of(ReachEvent)
    statement = (
        insert_ignoring_conflicts(session, table)
        .values(
            policy_id=policy_id,
            enterprise_id=enterprise_id,
            kind=kind,
            key=key,
            detail=detail,
            at=at,
        )
        .returning(table.c.id)
    )
    return session.scalar(statement) is not None


def of_firm(session: Session, *, policy_id: int, enterprise_id: int) -> list[ReachEvent]:
    """The firm's events about the policy, oldest first."""
    query = (
        select(ReachEvent)
        .where(ReachEvent.policy_id == policy_id, ReachEvent.enterprise_id == enterprise_id)
        .order_by(ReachEvent.at, ReachEvent.id)
    )
    return list(session.scalars(query))


def reason_reached(session: Session, *, policy_id: int, enterprise_id: int) -> dict[str, Any]:
    """Why the policy's first delivery to the firm chose it (``Delivery.reason``); empty when
    none went."""
    query = (
        select(Delivery.reason)
        .where(Delivery.policy_id == policy_id, Delivery.enterprise_id == enterprise_id)
        .order_by(Delivery.id)
        .limit(1)
    )
    reason = session.scalar(query)
    return dict(reason) if reason else {}


def purge(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` events older than ``before``; return how many went."""
    old = select(ReachEvent.id).where(ReachEvent.at < before).limit(limit)
    ids = list(session.scalars(old))
    if ids:
        session.execute(delete(ReachEvent).where(ReachEvent.id.in_(ids)))
    return len(ids)
