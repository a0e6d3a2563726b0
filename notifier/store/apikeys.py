"""API keys: stored by prefix and hash, listed, revoked, stamped when used."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from notifier.store import added, console_sessions
from notifier.store.models import ApiKey

# last_used_at is written at most this often per key: a busy key costs no write per request.
USE_STAMP_EVERY = timedelta(minutes=1)


def add(
    session: Session,
    *,
    prefix: str,
    key_hash: str,
    role: str,
    name: str,
    enterprise_id: int | None,
    now: datetime,
    user_id: int | None = None,
) -> ApiKey:
    """Store a new key (its hash only), owned by user ``user_id`` when given."""
    key = ApiKey(
        prefix=prefix,
        key_hash=key_hash,
        role=role,
        name=name,
        enterprise_id=enterprise_id,
        user_id=user_id,
        created_at=now,
    )
    return added(session, key)


def by_prefix(session: Session, prefix: str) -> ApiKey | None:
    """The key with this prefix (revoked or not) and its owner, or None."""
    query = select(ApiKey).where(ApiKey.prefix == prefix).options(joinedload(ApiKey.owner))
    return session.scalar(query)


def listed(session: Session) -> list[ApiKey]:
    """Every key with its owner, newest first."""
    query = select(ApiKey).options(joinedload(ApiKey.owner)).order_by(ApiKey.id.desc())
    return list(session.scalars(query))


def revoke(session: Session, prefix: str, *, now: datetime) -> ApiKey | None:
    """Revoke the key with this prefix (a revoked one keeps its first time), ending its console
    sessions; None if unknown."""
    key = by_prefix(session, prefix)
    if key is not None and key.revoked_at is None:
        key.revoked_at = now
        console_sessions.end_for_key(session, key.id, now=now, reason="revoked")
        session.flush()
    return key


def stamp_use(session: Session, key_id: int, *, now: datetime) -> None:
    """Record that a key was used, unless that was recorded within ``USE_STAMP_EVERY``."""
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - USE_STAMP_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
