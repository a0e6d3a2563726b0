"""Console sessions: started at sign-in, looked up by the hash of their id, ended for good."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from notifier.store import added
from notifier.store.models import ApiKey, ConsoleSession, User

# last_seen_at is written at most this often per session: a page load costs no write.
SEEN_STAMP_EVERY = timedelta(minutes=1)


def start(
    session: Session,
    *,
    token_hash: str,
    api_key_id: int | None = None,
    user_id: int | None = None,
    now: datetime,
    expires_at: datetime,
) -> ConsoleSession:
    """Store a new session of the key ``api_key_id`` or of the user ``user_id``."""
    assert (api_key_id is None) != (user_id is None), "a session is a key's or a user's"
    row = ConsoleSession(
        token_hash=token_hash,
        api_key_id=api_key_id,
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    return added(session, row)


def active(
    session: Session, token_hash: str, *, now: datetime
) -> tuple[ConsoleSession, ApiKey | None, User | None] | None:
    """The session and its key or its user when the session is neither ended nor expired, its
    key not revoked and its user not disabled; else None. Stamps ``last_seen_at`` (at most
    every ``SEEN_STAMP_EVERY``)."""
    found = session.execute(
        select(ConsoleSession, ApiKey, User)
        .outerjoin(ApiKey, ApiKey.id == ConsoleSession.api_key_id)
        .outerjoin(User, User.id == ConsoleSession.user_id)
        .where(
            ConsoleSession.token_hash == token_hash,
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
            ApiKey.revoked_at.is_(None),
            User.disabled_at.is_(None),
        )
    ).one_or_none()
    if found is None:
        return None
    row, key, user = found
    if key is None and user is None:
        return None
    if row.last_seen_at < now - SEEN_STAMP_EVERY:
        row.last_seen_at = now
        session.flush()
    return row, key, user


def end(session: Session, token_hash: str, *, now: datetime, reason: str) -> None:
    """End the session (a session already ended keeps its first end)."""
    _end(session, ConsoleSession.token_hash == token_hash, now=now, reason=reason)


def end_for_key(session: Session, api_key_id: int, *, now: datetime, reason: str) -> None:
    """End every open session of the key ``api_key_id``."""
    _end(session, ConsoleSession.api_key_id == api_key_id, now=now, reason=reason)


def end_for_user(
    session: Session, user_id: int, *, now: datetime, reason: str, keep: str | None = None
) -> None:
    """End every open session of the user ``user_id`` but the one whose hash is ``keep``."""
    which = ConsoleSession.user_id == user_id
    if keep is not None:
        which = which & (ConsoleSession.token_hash != keep)
    _end(session, which, now=now, reason=reason)


def _end(session: Session, which: ColumnElement[bool], *, now: datetime, reason: str) -> None:
    session.execute(
        update(ConsoleSession)
        .where(which, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
        .execution_options(synchronize_session=False)
    )
