"""Message templates written by staff and stored in the database, one row per version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class MessageTemplate(Base):
    """One version of a named template for one channel; a new text is a new row, never an edit.

    ``body`` is the SMS text, the email's plain text or the webhook's text; ``subject`` and
    ``html`` are for email only.
    """

    __tablename__ = "message_templates"
    __table_args__ = (
        UniqueConstraint("name", "channel", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str | None] = mapped_column(String(200))
