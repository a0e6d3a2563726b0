"""Provider accounts that admins keep in the ``providers`` table (secrets already encrypted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.models import Provider


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
    session.add(row)
    session.flush()
    return row


def last_change(session: Session) -> tuple[int, datetime | None]:
    """How many rows there are and when one last changed: cheap to ask on every refresh."""
    count, newest = session.execute(
        select(func.count(Provider.id), func.max(Provider.updated_at))
    ).one()
    return int(count or 0), newest
