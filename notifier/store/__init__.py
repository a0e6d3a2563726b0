"""Data access: plain functions over ``select()``, one module per entity. The caller commits."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import FromClause, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Row = TypeVar("Row")


def added(session: Session, row: Row) -> Row:
    """Add a new row and flush, so its id and column defaults are set; return it."""
    session.add(row)
    session.flush()
    return row


def insert_ignoring_conflicts(session: Session, table: Table | FromClause) -> Insert:
    """``INSERT .. ON CONFLICT DO NOTHING`` for the session's dialect (PostgreSQL or SQLite)."""
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table).on_conflict_do_nothing()
    return statement


def table_of(model: type[Any]) -> Table:
    """The Core table behind a mapped class (typed as a Table, which it is here)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
