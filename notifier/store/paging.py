"""One page of a query, with the query's total count (see ``notifier.domain.paging``)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from notifier.domain.paging import Paged, clamped, offset_of

T = TypeVar("T")


def count(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` gives (its order and loader options set aside)."""
    bare = query.order_by(None)
    return int(session.scalar(select(func.count()).select_from(bare.subquery())) or 0)


def paged(
    session: Session,
    query: Select[T],
    *,
    number: int,
    size: int,
    total: int | None = None,
) -> Paged[T]:
    """Page ``number`` of ``size`` rows of the ordered ``query`` (a number past the end: the
    last page); ``total`` when the caller already counted the rows."""
    total = count(session, query) if total is None else total
    number = clamped(number, total, size)
    rows = list(session.scalars(query.offset(offset_of(number, size)).limit(size)))
    return Paged(rows=rows, number=number, size=size, total=total)
