"""Enterprises: import (upsert by credit code), listing and unsubscribing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from notifier.channel_names import CHANNELS, EMAIL, SMS, WEBHOOK
from notifier.models import (
    Contact,
    Enterprise,
    EnterpriseSector,
    EnterpriseTag,
    EnterpriseTopic,
    Subscription,
)
from notifier.models.base import utcnow
from notifier.records import EnterpriseRecord


@dataclass(frozen=True)
class UpsertResult:
    """What an import did to one enterprise."""

    created: bool
    kept_unsubscribed: tuple[str, ...] = ()


def get_by_credit_code(session: Session, credit_code: str) -> Enterprise | None:
    """The enterprise with this credit code, or None."""
    return session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code))


def _contacts_of(record: EnterpriseRecord) -> set[tuple[str, str]]:
    wanted = {(SMS, record.phone), (EMAIL, record.email), (WEBHOOK, record.webhook_url)}
    return {(channel, address) for channel, address in wanted if address}


def _keep_or_add(current: list[Any], wanted: Sequence[str], attr: str, make: type) -> list[Any]:
    # Rows that stay are kept, not replaced: the flush inserts new rows before it deletes old
    # ones, so a fresh row with an unchanged value would break the (enterprise, value) key.
    kept = [item for item in current if getattr(item, attr) in wanted]
    have = {getattr(item, attr) for item in kept}
    return kept + [make(**{attr: value}) for value in wanted if value not in have]


def _sync_children(enterprise: Enterprise, record: EnterpriseRecord) -> None:
    enterprise.sectors = _keep_or_add(enterprise.sectors, record.sectors, "code", EnterpriseSector)
    enterprise.tags = _keep_or_add(enterprise.tags, record.tags, "tag", EnterpriseTag)
    enterprise.topics = _keep_or_add(enterprise.topics, record.topics, "topic", EnterpriseTopic)
    wanted = _contacts_of(record)
    # Keep rows that did not change so their ids stay stable.
    kept = [c for c in enterprise.contacts if (c.channel, c.address) in wanted]
    have = {(c.channel, c.address) for c in kept}
    enterprise.contacts = kept + [
        Contact(channel=channel, address=address) for channel, address in sorted(wanted - have)
    ]


def _sync_subscriptions(
    enterprise: Enterprise, channels: Sequence[str], now: datetime
) -> list[str]:
    """Subscribe to the chosen channels; never re-subscribe one the enterprise left."""
    kept_unsubscribed = []
    by_channel = {s.channel: s for s in enterprise.subscriptions}
    for channel in channels:
        current = by_channel.get(channel)
        if current is None:
            subscribed = enterprise.unsubscribed_at is None
            enterprise.subscriptions.append(
                Subscription(channel=channel, subscribed=subscribed, changed_at=now)
            )
            if not subscribed:
                kept_unsubscribed.append(channel)
        elif not current.subscribed:
            kept_unsubscribed.append(channel)
    # A channel no longer chosen stops: its row goes, so choosing it again subscribes anew.
    # An unsubscribe (subscribed=False, the enterprise's own choice) is kept as it is.
    enterprise.subscriptions = [
        s for s in enterprise.subscriptions if s.channel in channels or not s.subscribed
    ]
    return kept_unsubscribed


def _load_for_update(session: Session, credit_codes: list[str]) -> dict[str, Enterprise]:
    query = (
        select(Enterprise)
        .where(Enterprise.credit_code.in_(credit_codes))
        .options(
            selectinload(Enterprise.contacts),
            selectinload(Enterprise.subscriptions),
            selectinload(Enterprise.sectors),
            selectinload(Enterprise.tags),
            selectinload(Enterprise.topics),
        )
    )
    return {enterprise.credit_code: enterprise for enterprise in session.scalars(query)}


def upsert_enterprises(
    session: Session, records: Sequence[EnterpriseRecord]
) -> list[UpsertResult]:
    """Create or update the enterprises named by the records' credit codes (one flush)."""
    now = utcnow()
    existing = _load_for_update(session, [r.credit_code for r in records])
    results = []
    for record in records:
        enterprise = existing.get(record.credit_code)
        created = enterprise is None
        if enterprise is None:
            enterprise = Enterprise(credit_code=record.credit_code, subscriptions=[], contacts=[])
            existing[record.credit_code] = enterprise
            session.add(enterprise)
        enterprise.name = record.name
        enterprise.region = record.region
        enterprise.size = record.size
        _sync_children(enterprise, record)
        kept = _sync_subscriptions(enterprise, record.channels, now)
        results.append(UpsertResult(created=created, kept_unsubscribed=tuple(kept)))
    session.flush()
    return results


def list_query(*, sector: str | None = None) -> Select[Enterprise]:
    """Enterprises in credit-code order, optionally only those under a sector prefix."""
    query = select(Enterprise).order_by(Enterprise.credit_code)
    if sector:
        under = select(EnterpriseSector.enterprise_id).where(
            EnterpriseSector.code.startswith(sector, autoescape=True)
        )
        query = query.where(Enterprise.id.in_(under))
    return query.options(
        selectinload(Enterprise.sectors),
        selectinload(Enterprise.subscriptions),
        selectinload(Enterprise.tags),
        selectinload(Enterprise.topics),
    )


def iter_enterprises(
    session: Session, *, sector: str | None = None, chunk: int = 500
) -> Iterator[Enterprise]:
    """Stream enterprises a page at a time, never all in memory."""
    last = ""
    while True:
        page = session.scalars(
            list_query(sector=sector).where(Enterprise.credit_code > last).limit(chunk)
        ).all()
        yield from page
        if len(page) < chunk:
            return
        last = page[-1].credit_code


def unsubscribe(
    session: Session, credit_codes: Iterable[str], *, channel: str | None = None
) -> list[str]:
    """Unsubscribe enterprises from one channel, or from everything when ``channel`` is None.

    Returns:
        The credit codes that were not found.
    """
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    now = utcnow()
    missing = []
    for code in credit_codes:
        enterprise = get_by_credit_code(session, code)
        if enterprise is None:
            missing.append(code)
            continue
        if channel is None:
            enterprise.unsubscribed_at = enterprise.unsubscribed_at or now
        existing = {s.channel: s for s in enterprise.subscriptions}
        for name in [channel] if channel else list(CHANNELS):
            subscription = existing.get(name)
            if subscription is None:
                enterprise.subscriptions.append(
                    Subscription(channel=name, subscribed=False, changed_at=now)
                )
            elif subscription.subscribed:
                subscription.subscribed = False
                subscription.changed_at = now
    session.flush()
    return missing


def subscribed_pairs(session: Session, enterprise_ids: Iterable[int]) -> set[tuple[int, str]]:
    """The (enterprise id, channel) pairs among ``enterprise_ids`` that still take messages."""
    ids = list(enterprise_ids)
    if not ids:
        return set()
    query = (
        select(Subscription.enterprise_id, Subscription.channel)
        .join(Enterprise, Enterprise.id == Subscription.enterprise_id)
        .where(
            Subscription.enterprise_id.in_(ids),
            Subscription.subscribed.is_(True),
            Enterprise.unsubscribed_at.is_(None),
        )
    )
    return {(eid, channel) for eid, channel in session.execute(query)}
