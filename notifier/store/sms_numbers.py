"""What one SMS number has had: its SMS of a day (its daily caps), the latest before a reply,
its refusal of marketing SMS, and the digests that merge what waited over its cap.

The caller owns the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from notifier.domain.channel_names import SMS
from notifier.store.deliveries import claimable
from notifier.store.models import Delivery, DeliveryStatus, NumberRefusal

S = DeliveryStatus
DIGEST = "digest"

# A delivery merged into another's digest is not an SMS of its own.
_OWN_SMS = or_(Delivery.digest_id.is_(None), Delivery.digest_id == Delivery.id)


def sent_in(
    session: Session, addresses: Iterable[str], *, start: datetime, end: datetime
) -> Counter[tuple[str, str]]:
    """SMS sent (or being sent) to each of ``addresses`` between ``start`` and ``end``, by
    (address, message class); a digest counts once."""
    wanted = sorted(set(addresses))
    counts: Counter[tuple[str, str]] = Counter()
    if not wanted:
        return counts
    on_the_day = (
        # Two queries: each walks its own index (sent_at; status), not the whole table.
        and_(Delivery.sent_at >= start, Delivery.sent_at < end),
        and_(
            Delivery.status == S.SENDING, Delivery.claimed_at >= start, Delivery.claimed_at < end
        ),
    )
    for when in on_the_day:
        query = (
            select(Delivery.address, Delivery.message_class, func.count())
            .where(when, Delivery.channel == SMS, Delivery.address.in_(wanted), _OWN_SMS)
            .group_by(Delivery.address, Delivery.message_class)
        )
        for address, message_class, count in session.execute(query):
            counts[(address, message_class)] += count
    return counts


def refused(session: Session, phones: Iterable[str]) -> set[str]:
    """Those of ``phones`` that refused marketing SMS (a reply of R)."""
    wanted = sorted(set(phones))
    if not wanted:
        return set()
    return set(session.scalars(select(NumberRefusal.phone).where(NumberRefusal.phone.in_(wanted))))


def refuse(session: Session, phone: str, *, reply_id: int | None, at: datetime) -> bool:
    """Keep ``phone`` as refusing marketing SMS; False when it already was (the first refusal
    is kept)."""
    if session.scalar(select(NumberRefusal.id).where(NumberRefusal.phone == phone)) is not None:
        return False
    session.add(NumberRefusal(phone=phone, reply_id=reply_id, refused_at=at))
    session.flush()
    return True


def answered(session: Session, phone: str, *, before: datetime) -> int | None:
    """The SMS delivery a reply from ``phone`` at ``before`` answers: the latest one sent to
    the number before then (a digest's carrier for what it merged)."""
    return session.scalar(
        select(Delivery.id)
        .where(
            Delivery.channel == SMS,
            Delivery.address == phone,
            Delivery.sent_at <= before,
            _OWN_SMS,
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(1)
    )


def merge_into(
    session: Session,
    carrier: Delivery,
    *,
    also: Sequence[int],
    claimed_at: datetime,
) -> list[int]:
    """Merge into ``carrier``'s digest the deliveries held for a digest to its number, of its
    class, that are due: they are claimed with it (``sending``, the same claim time) and name
    it as their digest. ``also``: those already claimed in the carrier's chunk (claimed, so not
    taken again here). Returns the ids
    merged; the carrier names itself when there are any."""
    due = claimable(claimed_at)
    taken = list(
        session.scalars(
            update(Delivery)
            .where(
                Delivery.held == DIGEST,
                Delivery.channel == SMS,
                Delivery.address == carrier.address,
                Delivery.message_class == carrier.message_class,
                Delivery.id != carrier.id,
                due,
            )
            .values(
                status=S.SENDING,
                claimed_at=claimed_at,
                attempts=Delivery.attempts + 1,
                digest_id=carrier.id,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    merged = [*also, *taken]
    if merged:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([carrier.id, *also]))
            .values(digest_id=carrier.id)
            .execution_options(synchronize_session=False)
        )
    return sorted(merged)
