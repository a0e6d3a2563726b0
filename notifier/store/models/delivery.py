"""Deliveries (one message, one recipient, one channel) and their attempts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.store.models.base import Base, utcnow
from notifier.store.models.enterprise import Enterprise
from notifier.store.models.trigger import Trigger


class DeliveryStatus(enum.StrEnum):
    """The delivery state machine.

    pending -> queued -> sending -> sent (-> delivered, by receipt later)
                           |-> deferred (transient error; retried) -> queued ...
                           |-> failed (permanent error, or out of attempts)
    suppressed: the recipient unsubscribed before the send; cancelled: staff stopped it;
    expired: not sent within ``delivery.max_age_hours`` of being made (its last error kept).
    """

    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEFERRED = "deferred"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.SUPPRESSED,
        DeliveryStatus.CANCELLED,
        DeliveryStatus.EXPIRED,
    }
)


class Delivery(Base):
    """One message to one recipient on one channel; exists before anything is queued."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_trigger_status", "trigger_id", "status"),
        Index("ix_deliveries_status_queued_at", "status", "queued_at"),
        # The dashboard's counts per channel and status since a time: an index-only pass.
        Index("ix_deliveries_channel_status_created", "channel", "status", "created_at"),
        # A policy's deliveries, and one firm's of one policy (its reach state): one seek.
        Index("ix_deliveries_policy_enterprise", "policy_id", "enterprise_id"),
        # SMS sent in a month (the complaints report).
        Index("ix_deliveries_sent_at", "sent_at"),
        # A number's SMS of a day (its daily cap), and the latest before a reply: one seek per
        # number. SMS only: another channel's address may be a 2,000-character URL, too long
        # for a PostgreSQL index entry.
        Index(
            "ix_deliveries_sms_number",
            "address",
            "sent_at",
            postgresql_where=text("channel = 'sms'"),
            sqlite_where=text("channel = 'sms'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Hash of trigger key, credit code, channel and address: the same message is never made twice.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(2000))
    # Why this enterprise was reached: matched sector, region, size and tags.
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Notice (通知) or marketing (营销): see notifier.domain.message_class.
    message_class: Mapped[str] = mapped_column(
        String(16), server_default="notice"
    )
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    # "digest": held over its number's daily cap, to go out merged into one digest SMS.
    held: Mapped[str | None] = mapped_column(String(16))
    # The delivery whose SMS carried it in a digest (a digest's carrier names itself).
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # Throttled tries ("slow down" answers), which ``attempts`` does not count; capped apart.
    throttled: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(50))
    # Delivery reports name a message by the vendor's id.
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when retention removed the address and error texts; status and counts stay.
    purged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    trigger: Mapped[Trigger] = relationship()
    enterprise: Mapped[Enterprise] = relationship()


class DeliveryAttempt(Base):
    """One try at sending a delivery, whatever came of it."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(50))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
