"""The tags and topics the register's enterprises have, each with how many firms have it: what
the console's audience pickers offer."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from notifier.store.models import EnterpriseTag, EnterpriseTopic

# The pickers show this many values at most (the commonest); others are typed.
MAX_SHOWN = 200


def _counts(
    session: Session, column: InstrumentedAttribute[str], limit: int
) -> list[tuple[str, int]]:
    """Each distinct value of ``column`` with its number of rows, commonest first (one query)."""
    query = (
        select(column, func.count())
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(limit)
    )
    return [(value, count) for value, count in session.execute(query)]


def tag_counts(session: Session, *, limit: int = MAX_SHOWN) -> list[tuple[str, int]]:
    """Every tag enterprises have (高新技术企业, 专精特新...) and how many have it."""
    return _counts(session, EnterpriseTag.tag, limit)


def topic_counts(session: Session, *, limit: int = MAX_SHOWN) -> list[tuple[str, int]]:
    """Every topic enterprises chose and how many chose it."""
    return _counts(session, EnterpriseTopic.topic, limit)
