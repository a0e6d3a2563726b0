"""SMS replies recipients sent back, the numbers that refused marketing SMS, and complaints.

A reply of the TD family unsubscribes the number from SMS; ``R`` (拒收) refuses marketing SMS
only (notices still go); a reply holding 投诉 is a complaint too. Each reply keeps the SMS it
answered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class InboundReply(Base):
    """One reply as the vendor pushed it, what it did, and the SMS it answered."""

    __tablename__ = "inbound_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    # When the recipient sent it (the vendor's time), if the vendor said.
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    unsubscribed: Mapped[bool] = mapped_column(default=False)
    # How many enterprises with this number were unsubscribed from SMS by it.
    enterprises: Mapped[int] = mapped_column(default=0)
    # What the reply meant: unsubscribe (TD family), refuse (R: marketing), complaint, other.
    kind: Mapped[str] = mapped_column(String(16), server_default="other")
    # The SMS it answered: the latest one sent to the number before the reply.
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )


class NumberRefusal(Base):
    """A number that refused marketing SMS (a reply of R / 拒收): when, and by which reply."""

    __tablename__ = "number_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    refused_at: Mapped[datetime] = mapped_column(default=utcnow)
    reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_replies.id", ondelete="SET NULL")
    )


class Complaint(Base):
    """A complaint about a message: from a vendor's push, a reply holding 投诉, or staff."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    # vendor, reply or staff.
    source: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    # The message it answered, when known.
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_replies.id", ondelete="SET NULL")
    )
    # The staff member who logged it (a user name), for a staff complaint.
    logged_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
