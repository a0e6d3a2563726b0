"""Policies published by departments, and their deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.models.base import Base, utcnow


class Policy(Base):
    """A policy and whom it targets. Empty target lists mean everyone."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identifies "the same policy" across re-publishing: the file's ref, or a content digest.
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    department: Mapped[str] = mapped_column(String(100))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_sizes: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deadlines: Mapped[list[Deadline]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="Deadline.due_at"
    )

    def targets(self) -> dict[str, Any]:
        """The targets as one mapping, for display."""
        return {
            "sectors": self.target_sectors,
            "regions": self.target_regions,
            "sizes": self.target_sizes,
            "tags": self.target_tags,
        }


class Deadline(Base):
    """An application or filing date attached to a policy."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime] = mapped_column(index=True)
    # Working days before the due date on which reminders go out.
    remind_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [7, 3, 1])

    policy: Mapped[Policy] = relationship(back_populates="deadlines")
