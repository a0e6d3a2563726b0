"""Complaints kept, and the counts of the monthly complaint and opt-out report.

The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from notifier.domain.channel_names import SMS
from notifier.store.models import AuditEntry, Complaint, Delivery, InboundReply

# Replies that opt a number out: TD family (all SMS) and R (marketing SMS).
OPT_OUT_REPLIES = ("unsubscribe", "refuse")
# The firm's own one-click unsubscribe from a message's link or its page.
PAGE_UNSUBSCRIBE = "preferences.unsubscribe"


def add(
    session: Session,
    *,
    source: str,
    enterprise_id: int | None,
    text: str,
    at: datetime,
    phone: str | None = None,
    delivery_id: int | None = None,
    logged_by: str | None = None,
) -> Complaint:
    """Keep one complaint."""
    complaint = Complaint(
        source=source, enterprise_id=enterprise_id, phone=phone, text=text,
        delivery_id=delivery_id, logged_by=logged_by, received_at=at,
    )  # fmt: skip
    session.add(complaint)
    session.flush()
    return complaint


def latest_sms_to(session: Session, enterprise_id: int, *, before: datetime) -> int | None:
    """The firm's latest SMS delivery sent before ``before``: what a complaint answers."""
    return session.scalar(
        select(Delivery.id)
        .where(
            Delivery.enterprise_id == enterprise_id,
            Delivery.channel == SMS,
            Delivery.sent_at <= before,
            or_(Delivery.digest_id.is_(None), Delivery.digest_id == Delivery.id),
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class MonthCounts:
    """One month's figures: SMS sent, complaints, opt-outs by reply and by page."""

    sms_sent: int
    complaints: int
    reply_opt_outs: int
    page_opt_outs: int


def month_counts(session: Session, *, start: datetime, end: datetime) -> MonthCounts:
    """The report's counts between ``start`` and ``end`` (UTC). An SMS sent is one message a
    phone got: a digest counts once, not once per delivery it carried."""
    sent = select(func.count()).select_from(Delivery).where(
        Delivery.channel == SMS, Delivery.sent_at >= start, Delivery.sent_at < end,
        or_(Delivery.digest_id.is_(None), Delivery.digest_id == Delivery.id),
    )  # fmt: skip
    complaints = select(func.count()).select_from(Complaint).where(
        Complaint.received_at >= start, Complaint.received_at < end
    )
    replies = select(func.count()).select_from(InboundReply).where(
        InboundReply.kind.in_(OPT_OUT_REPLIES),
        InboundReply.received_at >= start, InboundReply.received_at < end,
    )  # fmt: skip
    pages = select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == PAGE_UNSUBSCRIBE, AuditEntry.at >= start, AuditEntry.at < end
    )
    return MonthCounts(
        sms_sent=session.scalar(sent) or 0,
        complaints=session.scalar(complaints) or 0,
        reply_opt_outs=session.scalar(replies) or 0,
        page_opt_outs=session.scalar(pages) or 0,
    )
