"""Data access: plain functions over ``select()``, one module per entity. The caller commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, table: Table) -> Insert:
    """``INSERT .. ON CONFLICT DO NOTHING`` for the session's dialect (PostgreSQL or SQLite)."""
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
