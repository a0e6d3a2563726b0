"""Delivery reports and SMS replies: move deliveries on, record replies, unsubscribe on TD.

The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifier.channels.receipts import DELIVERED, FAILED, reply_kind
from notifier.domain.channel_names import SMS
from notifier.store import enterprises, reach_states, sms_numbers
from notifier.store.models import (
    Complaint,
    Contact,
    Delivery,
    DeliveryStatus,
    Enterprise,
    InboundReply,
)
from notifier.store.models.base import utcnow

S = DeliveryStatus

# A report moves a delivery only out of ``sent``: a final report (delivered, failed) is never
# changed by a later or repeated one, and a delivery not yet recorded as sent is left alone.
_REPORTED_FROM = (S.SENT,)


def apply_receipt(
    session: Session,
    *,
    provider: str,
    provider_message_id: str,
    status: str,
    error: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Move the delivery ``provider`` sent as ``provider_message_id`` to ``status``.

    Only a ``sent`` delivery moves: ``delivered`` stays delivered whatever comes after, a
    repeated report changes nothing, and a report for an unknown id is ignored. One UPDATE,
    so two workers reading the same report cannot both apply it.

    Parameters:
        status: ``delivered`` or ``failed``.
        error: the vendor's reason for ``failed``, kept on the delivery.
        at: when the vendor says it happened (kept as the update time), else now.

    Returns:
        True when a delivery moved.

    Raises:
        ValueError: ``status`` is neither delivered nor failed.
    """
    if status not in (DELIVERED, FAILED):
        raise ValueError(f"a report is delivered or failed, not {status!r}")
    moment = at or utcnow()
    values: dict[str, object] = {"status": status, "updated_at": moment}
    if status == FAILED and error:
        values["last_error"] = f"回执 / report: {error}"[:500]
    moved = list(
        session.scalars(
            update(Delivery)
            .where(
                Delivery.provider == provider,
                Delivery.provider_message_id == provider_message_id,
                Delivery.status.in_(_REPORTED_FROM),
            )
            .values(**values)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not moved:
        return False
    # The firm's reach follows its delivery (delivered, or unreachable if nothing got through).
    reach_states.refresh(session, now=moment, delivery_ids=moved)
    return True


@dataclass(frozen=True)
class ReplyOutcome:
    """A stored reply: what it meant, how many enterprises it unsubscribed from SMS, and the
    SMS it answered."""

    reply_id: int
    unsubscribed: bool
    enterprises: int
    kind: str = "other"
    delivery_id: int | None = None


def record_reply(
    session: Session,
    *,
    provider: str,
    phone: str,
    text: str,
    sent_at: datetime | None = None,
) -> ReplyOutcome:
    """Keep one SMS reply with the SMS it answered (the latest sent to ``phone`` before it).

    A stop word (TD, T, 退订, N, STOP) unsubscribes ``phone`` from SMS: every enterprise with it
    as its SMS contact stops getting SMS (consent source ``reply``); its other channels go on.
    R (拒收) keeps the number as refusing marketing SMS; notices still go. A reply holding 投诉
    is kept as a complaint too. Recording the same reply twice unsubscribes nothing more.

    Parameters:
        phone: the number in E.164, as contacts are stored.
    """
    kind = reply_kind(text)
    now = utcnow()
    answered = sms_numbers.answered(session, phone, before=sent_at or now)
    owners = list(
        session.execute(
            select(Enterprise.id, Enterprise.credit_code)
            .join(Contact, Contact.enterprise_id == Enterprise.id)
            .where(Contact.channel == SMS, Contact.address == phone)
        )
    )
    codes: list[str] = []
    if kind == "unsubscribe":
        codes = [code for _, code in owners]
        enterprises.unsubscribe(session, codes, channel=SMS, source="reply")
    reply = InboundReply(
        provider=provider,
        phone=phone,
        text=text[:2000],
        sent_at=sent_at,
        unsubscribed=kind == "unsubscribe",
        enterprises=len(codes),
        kind=kind,
        delivery_id=answered,
        received_at=now,
    )
    session.add(reply)
    session.flush()
    if kind == "refuse":
        sms_numbers.refuse(session, phone, reply_id=reply.id, at=now)
    elif kind == "complaint":
        firm = _firm_of(session, answered) or (owners[0][0] if owners else None)
        session.add(Complaint(
            source="reply", enterprise_id=firm, phone=phone, text=text[:2000],
            delivery_id=answered, reply_id=reply.id, received_at=now,
        ))  # fmt: skip
        session.flush()
    return ReplyOutcome(
        reply_id=reply.id, unsubscribed=kind == "unsubscribe", enterprises=len(codes),
        kind=kind, delivery_id=answered,
    )  # fmt: skip


def _firm_of(session: Session, delivery_id: int | None) -> int | None:
    if delivery_id is None:
        return None
    return session.scalar(select(Delivery.enterprise_id).where(Delivery.id == delivery_id))
