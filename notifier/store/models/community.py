"""The district's shape: industrial communities (their regions) and departments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class Community(Base):
    """An industrial community (工业社区): the firms whose region lies under one of its
    ``regions`` (full ``/`` paths of streets, parks or communities) are its firms."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Department(Base):
    """A district department (委办局) that publishes policies; a policy's ``department``
    names it."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
