"""What an enterprise chooses for itself: the channels it takes messages on, and its topics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notifier.domain.channel_names import CHANNELS
from notifier.domain.text_rules import check_line
from notifier.domain.time_source import TimeSource
from notifier.errors import InputError, NotFoundError
from notifier.inputs.enterprise_csv import CHANNEL_WORDS, MAX_TOPIC_LENGTH
from notifier.store import enterprises
from notifier.store.db import SessionFactory
from notifier.store.models import Enterprise, EnterpriseTopic, Subscription

MAX_TOPICS = 20


@dataclass(frozen=True)
class Choices:
    """The channels an enterprise takes, those it could (it has their contact), its topics."""

    channels: list[str]
    available: list[str]
    topics: list[str]


def _choices(enterprise: Enterprise) -> Choices:
    on = enterprise.unsubscribed_at is None
    return Choices(
        channels=sorted(s.channel for s in enterprise.subscriptions if s.subscribed and on),
        available=sorted({c.channel for c in enterprise.contacts}),
        topics=sorted(t.topic for t in enterprise.topics),
    )


def _load(session: object, enterprise_id: int) -> Enterprise:
    enterprise = enterprises.get_full_by_id(session, enterprise_id)  # type: ignore[arg-type]
    if enterprise is None:
        raise NotFoundError("enterprise: 不存在 / no such enterprise", field="enterprise")
    return enterprise


def choices_of(sessions: SessionFactory, enterprise_id: int) -> Choices:
    """The enterprise's current choices."""
    with sessions() as session:
        return _choices(_load(session, enterprise_id))


def _checked_topics(topics: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in topics if t.strip()))
    for topic in cleaned:
        check_line(topic, "topics")  # a NUL would abort the transaction on PostgreSQL
    if len(cleaned) > MAX_TOPICS or any(len(t) > MAX_TOPIC_LENGTH for t in cleaned):
        raise InputError(
            f"topics: 最多 {MAX_TOPICS} 个，每个不超过 {MAX_TOPIC_LENGTH} 字 / at most "
            f"{MAX_TOPICS} topics of {MAX_TOPIC_LENGTH} characters",
            field="topics",
        )
    return cleaned


def change(
    sessions: SessionFactory,
    enterprise_id: int,
    *,
    channels: Sequence[str],
    topics: Sequence[str] | None,
    time_source: TimeSource,
) -> tuple[Choices, Choices]:
    """Take messages on exactly ``channels`` (each needs its contact; 短信, 邮件, 网络回调 are read
    as sms, email, webhook); set ``topics`` if given.

    The enterprise's own choice: it may subscribe again to what it left. Returns the choices
    before and after.

    Raises:
        InputError: an unknown channel, a channel without a contact, too many topics.
    """
    wanted = list(dict.fromkeys(CHANNEL_WORDS.get(c.strip(), c.strip().lower()) for c in channels))
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown:
        raise InputError(
            f"channels: 未知渠道 / unknown channel {unknown[0]!r}; one of {', '.join(CHANNELS)}",
            field="channels",
        )
    new_topics = None if topics is None else _checked_topics(topics)
    now = time_source.now()
    with sessions.begin() as session:
        enterprise = _load(session, enterprise_id)
        before = _choices(enterprise)
        missing = [c for c in wanted if c not in before.available]
        if missing:
            raise InputError(
                f"channels: 没有{missing[0]}的联系方式 / no contact for {missing[0]}",
                field="channels",
            )
        enterprise.unsubscribed_at = None if wanted else enterprise.unsubscribed_at or now
        have = {s.channel: s for s in enterprise.subscriptions}
        for channel in CHANNELS:
            on = channel in wanted
            row = have.get(channel)
            if row is None:
                enterprise.subscriptions.append(
                    Subscription(channel=channel, subscribed=on, changed_at=now)
                )
            elif row.subscribed != on:
                row.subscribed = on
                row.changed_at = now
        if new_topics is not None:
            # Kept rows stay, so the (enterprise, topic) unique key never sees a repeat.
            enterprise.topics = [t for t in enterprise.topics if t.topic in new_topics]
            kept = {t.topic for t in enterprise.topics}
            enterprise.topics += [EnterpriseTopic(topic=t) for t in new_topics if t not in kept]
        session.flush()
        after = _choices(enterprise)
    return before, after
