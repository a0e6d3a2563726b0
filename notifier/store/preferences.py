"""An enterprise's own choices, as its signed link shows and changes them: channels, topics,
everything off."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from notifier.channel_names import CHANNELS
from notifier.models import Enterprise, EnterpriseTopic, Subscription

MAX_TOPICS = 50


@dataclass(frozen=True)
class Preferences:
    """What an enterprise hears: channels it has a contact for (and whether each is on), its
    topics (none: every topic), and whether it left everything."""

    enterprise_id: int
    name: str
    credit_code: str
    channels: dict[str, bool]
    topics: tuple[str, ...]
    all_off: bool


def _load(session: Session, enterprise_id: int) -> Enterprise | None:
    return session.scalar(
        select(Enterprise)
        .where(Enterprise.id == enterprise_id)
        .options(
            selectinload(Enterprise.contacts),
            selectinload(Enterprise.subscriptions),
            selectinload(Enterprise.topics),
        )
    )


def preferences_of(session: Session, enterprise_id: int) -> Preferences | None:
    """The enterprise's choices, or None when it no longer exists."""
    enterprise = _load(session, enterprise_id)
    if enterprise is None:
        return None
    reachable = {c.channel for c in enterprise.contacts}
    on = {s.channel for s in enterprise.subscriptions if s.subscribed}
    return Preferences(
        enterprise_id=enterprise.id,
        name=enterprise.name,
        credit_code=enterprise.credit_code,
        channels={c: c in on for c in CHANNELS if c in reachable},
        topics=tuple(sorted(t.topic for t in enterprise.topics)),
        all_off=enterprise.unsubscribed_at is not None,
    )


def known_topics(session: Session, *, limit: int = MAX_TOPICS) -> list[str]:
    """The topics enterprises have chosen, for a page to offer."""
    query = select(EnterpriseTopic.topic).distinct().order_by(EnterpriseTopic.topic).limit(limit)
    return list(session.scalars(query))


def set_preferences(
    session: Session,
    enterprise_id: int,
    *,
    channels: Collection[str],
    topics: Collection[str],
    all_off: bool,
    now: datetime,
) -> bool:
    """Store the enterprise's own choices: the listed channels on, the others off; its topics;
    everything off (or back on) as it says. The caller commits.

    Returns:
        False when the enterprise no longer exists.
    """
    enterprise = _load(session, enterprise_id)
    if enterprise is None:
        return False
    if all_off:
        enterprise.unsubscribed_at = enterprise.unsubscribed_at or now
    else:
        enterprise.unsubscribed_at = None
    existing = {s.channel: s for s in enterprise.subscriptions}
    for channel in {c.channel for c in enterprise.contacts}:
        wanted = channel in channels
        subscription = existing.get(channel)
        if subscription is None:
            enterprise.subscriptions.append(
                Subscription(channel=channel, subscribed=wanted, changed_at=now)
            )
        elif subscription.subscribed != wanted:
            subscription.subscribed = wanted
            subscription.changed_at = now
    keep = set(topics)
    enterprise.topics = [t for t in enterprise.topics if t.topic in keep] + [
        EnterpriseTopic(topic=topic)
        for topic in sorted(keep - {t.topic for t in enterprise.topics})
    ]
    session.flush()
    return True


def unsubscribe_channel(
    session: Session, enterprise_id: int, channel: str, *, now: datetime
) -> bool:
    """Turn one channel off (RFC 8058 one-click). The caller commits.

    Returns:
        False when the enterprise no longer exists.
    """
    enterprise = _load(session, enterprise_id)
    if enterprise is None:
        return False
    subscription = next((s for s in enterprise.subscriptions if s.channel == channel), None)
    if subscription is None:
        enterprise.subscriptions.append(
            Subscription(channel=channel, subscribed=False, changed_at=now)
        )
    elif subscription.subscribed:
        subscription.subscribed = False
        subscription.changed_at = now
    session.flush()
    return True
