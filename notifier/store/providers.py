"""Provider accounts that admins keep in the ``providers`` table (secrets already encrypted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.store import added
from notifier.store.models import Provider


def all_providers(session: Session) -> list[Provider]:
    """Every provider row, by channel, priority and name."""
    query = select(Provider).order_by(Provider.channel, Provider.priority, Provider.name)
    return list(session.scalars(query))


def get_provider(session: Session, name: str) -> Provider | None:
    """The row named ``name``, or None."""
    return session.scalars(select(Provider).where(Provider.name == name)).first()


def add_provider(
    session: Session,
    *,
    name: str,
    channel: str,
    kind: str,
    priority: int,
    enabled: bool,
    options: dict[str, Any],
    secret_encrypted: bytes | None,
    now: datetime,
) -> Provider:
    """Insert one provider row (the caller checked the name is free) and return it."""
    row = Provider(
        name=name,
        channel=channel,
        kind=kind,
        priority=priority,
        enabled=enabled,
        settings=options,
        secret_encrypted=secret_encrypted,
        created_at=now,
        updated_at=now,
    )
    return added(session, row)


def set_enabled(session: Session, name: str, *, enabled: bool, now: datetime) -> bool:
    """Enable or disable the row named ``name``; False when there is none."""
    row = get_provider(session, name)
    if row is None:
        return False
    row.enabled = enabled
    row.updated_at = now
    return True


def remove_provider(session: Session, name: str) -> bool:
    """Delete the row named ``name``; False when there is none."""
    row = get_provider(session, name)
    if row is None:
        return False
    session.delete(row)
    return True


def with_secrets(session: Session) -> list[Provider]:
    """The rows that hold an encrypted secret."""
    query = select(Provider).where(Provider.secret_encrypted.is_not(None)).order_by(Provider.id)
    return list(session.scalars(query))
