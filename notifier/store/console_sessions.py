"""Console sessions: started at sign-in, looked up by the hash of their id, ended for good."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from notifier.store import added
from notifier.store.models import ApiKey, ConsoleSession

# last_seen_at is written at most this often per session: a page load costs no write.
SEEN_STAMP_EVERY = timedelta(minutes=1)


def start(
    session: Session, *, token_hash: str, api_key_id: int, now: datetime, expires_at: datetime
) -> ConsoleSession:
    """Store a new session of the key ``api_key_id``."""
    row = ConsoleSession(
        token_hash=token_hash,
        api_key_id=api_key_id,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    return added(session, row)


def active(
    session: Session, token_hash: str, *, now: datetime
) -> tuple[ConsoleSession, ApiKey] | None:
    """The session and its key when the session is neither ended nor expired and its key is
    not revoked; else None. Stamps ``last_seen_at`` (at most every ``SEEN_STAMP_EVERY``)."""
    found = session.execute(
        select(ConsoleSession, ApiKey)
        .join(ApiKey, ApiKey.id == ConsoleSession.api_key_id)
        .where(
            ConsoleSession.token_hash == token_hash,
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
            ApiKey.revoked_at.is_(None),
        )
    ).one_or_none()
    if found is None:
        return None
    row, key = found
    if row.last_seen_at < now - SEEN_STAMP_EVERY:
        row.last_seen_at = now
        session.flush()
    return row, key


def end(session: Session, token_hash: str, *, now: datetime, reason: str) -> None:
    """End the session (a session already ended keeps its first end)."""
    _end(session, ConsoleSession.token_hash == token_hash, now=now, reason=reason)


def end_for_key(session: Session, api_key_id: int, *, now: datetime, reason: str) -> None:
    """End every open session of the key ``api_key_id``."""
    _end(session, ConsoleSession.api_key_id == api_key_id, now=now, reason=reason)


def _end(session: Session, which: ColumnElement[bool], *, now: datetime, reason: str) -> None:
    session.execute(
        update(ConsoleSession)
        .where(which, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
        .execution_options(synchronize_session=False)
    )
