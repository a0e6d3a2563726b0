"""The field a clerk last mapped each register heading to, so the next upload is preset."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class ImportHeading(Base):
    """One heading of an uploaded register (``所属街道``) and the field it was imported as
    (``street``; ``""`` for a column the clerk chose to leave out)."""

    __tablename__ = "import_headings"

    heading: Mapped[str] = mapped_column(String(100), primary_key=True)
    field: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
