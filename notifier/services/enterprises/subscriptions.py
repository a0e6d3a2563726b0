"""What an enterprise chooses for itself (the channels it takes messages on, its topics), and
staff unsubscribing one on its word; each change audited in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from notifier.domain.channel_names import CHANNELS
from notifier.domain.consent import ConsentSource
from notifier.domain.text_rules import check_line
from notifier.errors import InputError, NotFoundError
from notifier.inputs.enterprise_csv import CHANNEL_WORDS, MAX_TOPIC_LENGTH
from notifier.services import audit
from notifier.services.context import Context
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


def _load(session: Session, enterprise_id: int) -> Enterprise:
    enterprise = enterprises.get_full_by_id(session, enterprise_id)
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


def _wanted(channels: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(CHANNEL_WORDS.get(c.strip(), c.strip().lower()) for c in channels))
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown:
        raise InputError(
            f"channels: 未知渠道 / unknown channel {unknown[0]!r}; one of {', '.join(CHANNELS)}",
            field="channels",
        )
    return wanted


def change(
    context: Context,
    enterprise_id: int,
    *,
    channels: Sequence[str],
    topics: Sequence[str] | None,
    source: ConsentSource = ConsentSource.PAGE,
) -> tuple[Choices, Choices]:
    """Take messages on exactly ``channels`` (each needs its contact; 短信, 邮件, 网络回调 are read
    as sms, email, webhook); set ``topics`` if given. Audited ``preferences.change``.

    The enterprise's own choice: it may subscribe again to what it left; each changed channel
    records ``source`` (its page, or the API) and the time. Returns the choices before and
    after.

    Raises:
        InputError: an unknown channel, a channel without a contact, too many topics.
        NotFoundError: no such enterprise.
    """
    wanted = _wanted(channels)
    new_topics = None if topics is None else _checked_topics(topics)
    with context.sessions.begin() as session:
        enterprise = _load(session, enterprise_id)
        before = _choices(enterprise)
        after = _apply(
            session, enterprise, wanted, new_topics, context.time_source.now(), source
        )
        _audit(session, context, "preferences.change", enterprise, before, after)
    return before, after


def leave_channel(context: Context, enterprise_id: int, channel: str) -> Choices:
    """Stop messages on ``channel`` (the link's one-click unsubscribe), audited
    ``preferences.unsubscribe``; the choices after.

    Raises:
        NotFoundError: no such enterprise.
    """
    with context.sessions.begin() as session:
        enterprise = _load(session, enterprise_id)
        before = _choices(enterprise)
        kept = [c for c in before.channels if c != channel]
        after = _apply(
            session, enterprise, kept, None, context.time_source.now(), ConsentSource.PAGE
        )
        _audit(session, context, "preferences.unsubscribe", enterprise, before, after)
    return after


def unsubscribe(context: Context, credit_codes: Sequence[str], *, channel: str | None) -> list[str]:
    """Unsubscribe enterprises (staff, on their word) from ``channel`` or everything, so that
    no re-import undoes it; one ``enterprise.unsubscribe`` audit row each. The codes not found.
    """
    with context.sessions.begin() as session:
        missing = enterprises.unsubscribe(
            session, credit_codes, channel=channel, source=ConsentSource.STAFF
        )
        for code in credit_codes:
            if code not in missing:
                audit.record(
                    session, context, action="enterprise.unsubscribe", target_type="enterprise",
                    target_id=code, after={"channel": channel or "all"},
                )  # fmt: skip
    return missing


def _apply(
    session: Session,
    enterprise: Enterprise,
    wanted: list[str],
    new_topics: list[str] | None,
    now: datetime,
    source: str,
) -> Choices:
    """Set the enterprise's channels and (unless None) topics; its choices after."""
    missing = [c for c in wanted if c not in _choices(enterprise).available]
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
                Subscription(channel=channel, subscribed=on, changed_at=now, source=source)
            )
        elif row.subscribed != on:
            row.subscribed = on
            row.changed_at = now
            row.source = source
    if new_topics is not None:
        # Kept rows stay, so the (enterprise, topic) unique key never sees a repeat.
        enterprise.topics = [t for t in enterprise.topics if t.topic in new_topics]
        kept = {t.topic for t in enterprise.topics}
        enterprise.topics += [EnterpriseTopic(topic=t) for t in new_topics if t not in kept]
    session.flush()
    return _choices(enterprise)


def _audit(
    session: Session,
    context: Context,
    action: str,
    enterprise: Enterprise,
    before: Choices,
    after: Choices,
) -> None:
    audit.record(
        session, context, action=action, target_type="enterprise",
        target_id=enterprise.credit_code, before=asdict(before), after=asdict(after),
    )  # fmt: skip
