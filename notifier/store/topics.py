"""The topics enterprises have chosen, for a page to offer as choices."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.store.models import EnterpriseTopic

MAX_TOPICS = 50


def known_topics(session: Session, *, limit: int = MAX_TOPICS) -> list[str]:
    """The distinct topics enterprises have chosen, in order."""
    query = select(EnterpriseTopic.topic).distinct().order_by(EnterpriseTopic.topic).limit(limit)
    return list(session.scalars(query))
