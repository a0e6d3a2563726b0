"""Provider accounts that admins keep in the ``providers`` table (secrets already encrypted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.store import added
from notifier.store.models import ProviderAccount


def all_providers(session: Session) -> list[ProviderAccount]:
    """Every provider row, by channel, priority and name."""
    row = ProviderAccount
    query = select(row).order_by(row.channel, row.priority, row.name)
    return list(session.scalars(query))


def get_provider(session: Session, name: str) -> ProviderAccount | None:
    """The row named ``name``, or None."""
    return session.scalars(select(ProviderAccount).where(ProviderAccount.name == name)).first()


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
) -> ProviderAccount:
    """Insert one provider row (the caller checked the name is free) and return it."""
    row = ProviderAccount(
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


def with_secrets(session: Session) -> list[ProviderAccount]:
    """The rows that hold an encrypted secret."""
    row = ProviderAccount
    query = select(row).where(row.secret_encrypted.is_not(None)).order_by(row.id)
    return list(session.scalars(query))
