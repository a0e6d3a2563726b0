"""SMS replies recipients sent back (a reply of TD unsubscribes the number from SMS)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class InboundReply(Base):
    """One reply as the vendor pushed it, and whether it unsubscribed its number."""

    __tablename__ = "inbound_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    # When the recipient sent it (the vendor's time), if the vendor said.
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    unsubscribed: Mapped[bool] = mapped_column(default=False)
    # How many enterprises with this number were unsubscribed from SMS by it.
    enterprises: Mapped[int] = mapped_column(default=0)
