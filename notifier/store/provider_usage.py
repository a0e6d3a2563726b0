"""The sending processes' reports of the providers they use (the ``provider_usage`` table)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifier.store import table_of
from notifier.store.models import ProviderUsage


def put(
    session: Session,
    *,
    process: str,
    channels: dict[str, list[str]],
    broken: dict[str, str],
    version: str,
    now: datetime,
) -> None:
    """Insert or replace the report of ``process`` (one statement: two threads of one process
    reporting at once cannot both insert)."""
    table = table_of(ProviderUsage)
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"channels": channels, "broken": broken, "version": version, "reported_at": now}
    insert = dialect.insert(table).values(process=process, **values)
    session.execute(insert.on_conflict_do_update(index_elements=[table.c.process], set_=values))


def drop(session: Session, process: str) -> None:
    """Delete the report of ``process`` (it stopped)."""
    session.execute(delete(ProviderUsage).where(ProviderUsage.process == process))


def drop_older_than(session: Session, cutoff: datetime) -> None:
    """Delete the reports of processes silent since before ``cutoff`` (they died unannounced)."""
    session.execute(delete(ProviderUsage).where(ProviderUsage.reported_at < cutoff))


def reported_since(session: Session, cutoff: datetime) -> list[ProviderUsage]:
    """The reports made at or after ``cutoff``, by process."""
    row = ProviderUsage
    query = select(row).where(row.reported_at >= cutoff).order_by(row.process)
    return list(session.scalars(query))
