"""The rules one SMS number lives by, applied to a chunk just before its claim: marketing SMS
to a number that replied R end suppressed; SMS past the number's daily cap of their class wait
for the next day's opening (alone, or held to go out merged into one digest SMS); and the
claimed deliveries held for a digest become one carrier per number and class, with the others
merged into it. See :mod:`notifier.domain.number_caps` and ``docs/sms-rules.md``.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from notifier.domain.channel_names import SMS
from notifier.domain.message_class import CHINESE, MessageClass
from notifier.domain.number_caps import DIGEST, NumberCaps
from notifier.store import sms_numbers
from notifier.store.models import Delivery

REFUSED = "号码已回复 R 拒收营销短信 / the number refused marketing SMS (replied R)"


def refused_marketing(session: Session, chunk: Sequence[Delivery]) -> list[int]:
    """The marketing SMS of ``chunk`` to numbers that refused them (a reply of R)."""
    marketing = [
        d for d in chunk if d.channel == SMS and d.message_class == MessageClass.MARKETING
    ]
    refused = sms_numbers.refused(session, {d.address for d in marketing})
    return [d.id for d in marketing if d.address in refused]


def over_cap(
    session: Session,
    chunk: Sequence[Delivery],
    caps: NumberCaps,
    *,
    now: datetime,
    skip: Container[int],
) -> dict[int, datetime]:
    """The SMS of ``chunk`` (but those in ``skip``) past their number's cap for the day, each
    with the next day's opening. Deliveries held for a digest to one number count once: they
    go out as one SMS."""
    capped = [
        d for d in chunk if d.channel == SMS and d.id not in skip and caps.cap(d.message_class)
    ]
    if not capped:
        return {}
    start, end = caps.day(now)
    counts = sms_numbers.sent_in(session, {d.address for d in capped}, start=start, end=end)
    merging: set[tuple[str, str]] = set()
    over: dict[int, datetime] = {}
    for delivery in capped:
        key = (delivery.address, delivery.message_class)
        if delivery.held == DIGEST and key in merging:
            continue  # merged into the digest of an earlier one of this chunk
        if counts[key] >= (caps.cap(delivery.message_class) or 0):
            over[delivery.id] = caps.next_opening(delivery.channel, now)
            continue
        counts[key] += 1
        if delivery.held == DIGEST:
            merging.add(key)
    return over


def over_cap_reason(caps: NumberCaps, message_class: str) -> str:
    """What a delivery held over its cap says (Chinese first)."""
    cap = caps.cap(message_class)
    word = CHINESE.get(MessageClass(message_class), message_class)
    if caps.over_cap == DIGEST:
        return (f"超过该号码每日{word}短信上限 {cap} 条，次日合并为一条摘要短信 / over the "
                f"number's daily cap of {cap} {message_class} SMS: merged into a digest the "
                "next day")
    return (f"超过该号码每日{word}短信上限 {cap} 条，次日发送 / over the number's daily cap of "
            f"{cap} {message_class} SMS: waits for the next day")


@dataclass
class Digests:
    """What the claimed deliveries held for a digest became: those left to send (a carrier
    each), and each carrier's merged deliveries."""

    left: list[Delivery]
    merged: dict[int, list[int]] = field(default_factory=dict)


def merge_digests(
    session: Session, claimed: Sequence[Delivery], *, claimed_at: datetime, skip: Container[int]
) -> Digests:
    """One carrier per number and class among the claimed deliveries held for a digest (the
    first), with every due one held for it merged in (claimed with it, see
    :func:`notifier.store.sms_numbers.merge_into`). Those in ``skip`` are left as they are."""
    carriers: dict[tuple[str, str], Delivery] = {}
    along: dict[int, list[int]] = {}
    left: list[Delivery] = []
    for delivery in claimed:
        key = (delivery.address, delivery.message_class)
        if delivery.held != DIGEST or delivery.id in skip:
            left.append(delivery)
        elif key in carriers:
            along[carriers[key].id].append(delivery.id)
        else:
            carriers[key] = delivery
            along[delivery.id] = []
            left.append(delivery)
    digests = Digests(left)
    for carrier in carriers.values():
        merged = sms_numbers.merge_into(
            session, carrier, also=along[carrier.id], claimed_at=claimed_at
        )
        if merged:
            digests.merged[carrier.id] = merged
    return digests
