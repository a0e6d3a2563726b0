"""The field each register heading was last imported as (see ``ImportHeading``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.store.models import ImportHeading

MAX_HEADING = 100


def remembered(session: Session, headings: Iterable[str]) -> dict[str, str]:
    """The remembered field of each of ``headings`` that has one."""
    wanted = list({h[:MAX_HEADING] for h in headings if h})
    if not wanted:
        return {}
    rows = session.scalars(select(ImportHeading).where(ImportHeading.heading.in_(wanted)))
    return {row.heading: row.field for row in rows}


def remember(session: Session, choices: Mapping[str, str], now: datetime) -> None:
    """Keep the field chosen for each heading (the latest choice wins)."""
    for heading, field in choices.items():
        if not heading:
            continue
        key = heading[:MAX_HEADING]
        row = session.get(ImportHeading, key)
        if row is None:
            session.add(ImportHeading(heading=key, field=field, updated_at=now))
        else:
            row.field, row.updated_at = field, now
