"""The audit log: what staff and admin keys changed, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from notifier.store import added
from notifier.store.models import AuditEntry


def record(
    session: Session,
    *,
    actor_prefix: str,
    actor_role: str,
    actor_owner: str | None = None,
    face: str | None = None,
    action: str,
    target_type: str,
    target_id: str | None,
    before: Any,
    after: Any,
    now: datetime,
) -> AuditEntry:
    """Add one entry; the caller commits (with the change, where it can)."""
    entry = AuditEntry(
        actor_prefix=actor_prefix,
        actor_role=actor_role,
        actor_owner=actor_owner,
        face=face,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        at=now,
    )
    return added(session, entry)


def newest_first(
    *, target_type: str | None = None, actor_prefix: str | None = None
) -> Select[AuditEntry]:
    """Entries newest first, of one target type or actor when given (for paging)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if actor_prefix:
        query = query.where(AuditEntry.actor_prefix == actor_prefix)
    return query


def page(
    session: Session,
    *,
    before_id: int | None = None,
    limit: int = 50,
    target_type: str | None = None,
    actor_prefix: str | None = None,
) -> list[AuditEntry]:
    """Entries newest first, those with ids below ``before_id`` (the cursor) when given."""
    query = newest_first(target_type=target_type, actor_prefix=actor_prefix).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
