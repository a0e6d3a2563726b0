"""Who a piece of outreach reaches: one SQL query over a Targets value, read in pages.

An enterprise is reached on a channel when it is subscribed on that channel, has not
unsubscribed from everything, has a contact for the channel, and matches every target:
a sector code under a target prefix (``C36`` reaches ``C3670``), a region under a target
region path, a size among the target sizes, every target tag, and, when both the policy and
the enterprise name topics, at least one topic in common. An empty target matches everyone.
An enterprise that marked one of the audience's ``done_deadlines`` done is left out. With
``reached_by``, only the enterprise-and-channel pairs that a sent or delivered message of those
policies reached are kept (the contact on that channel as it stands today).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from notifier.domain.targets import Targets
from notifier.store.models import (
    Contact,
    DeadlineDone,
    Delivery,
    DeliveryStatus,
    Enterprise,
    EnterpriseSector,
    EnterpriseTag,
    EnterpriseTopic,
    Subscription,
)


@dataclass(frozen=True)
class Recipient:
    """One enterprise on one channel at one address, and why it was reached."""

    enterprise_id: int
    contact_id: int
    credit_code: str
    name: str
    channel: str
    address: str
    reason: dict[str, Any]


def _sector_match(prefixes: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(EnterpriseSector.code.startswith(p, autoescape=True) for p in prefixes))


def in_regions(regions: Sequence[str]) -> ColumnElement[bool]:
    """Firms registered in one of ``regions`` or anywhere below it (full ``/`` paths)."""
    clauses = []
    for region in regions:
        region = region.strip("/")
        clauses.append(Enterprise.region == region)
        clauses.append(Enterprise.region.startswith(region + "/", autoescape=True))
    return or_(*clauses) if clauses else false()


def _conditions(audience: Targets) -> list[ColumnElement[bool]]:
    return [Enterprise.unsubscribed_at.is_(None), *_target_conditions(audience)]


def _target_conditions(audience: Targets) -> list[ColumnElement[bool]]:
    """The audience's conditions on the enterprise, whether it unsubscribed or not."""
    owner = EnterpriseSector.enterprise_id == Enterprise.id
    conditions: list[ColumnElement[bool]] = []
    if audience.sectors:
        conditions.append(exists().where(owner, _sector_match(audience.sectors)))
    if audience.regions:
        conditions.append(in_regions(audience.regions))
    if audience.sizes:
        conditions.append(Enterprise.size.in_(audience.sizes))
    if audience.credit_codes:
        conditions.append(Enterprise.credit_code.in_(audience.credit_codes))
    for tag in audience.tags:
        conditions.append(
            exists().where(EnterpriseTag.enterprise_id == Enterprise.id, EnterpriseTag.tag == tag)
        )
    if audience.topics:
        chose = EnterpriseTopic.enterprise_id == Enterprise.id
        conditions.append(
            or_(
                ~exists().where(chose),
                exists().where(chose, EnterpriseTopic.topic.in_(audience.topics)),
            )
        )
    if audience.channels:
        conditions.append(Contact.channel.in_(audience.channels))
    if audience.done_deadlines:
        conditions.append(
            ~exists().where(
                DeadlineDone.enterprise_id == Enterprise.id,
                DeadlineDone.deadline_id.in_(audience.done_deadlines),
            )
        )
    if audience.reached_by:
        conditions.append(_reached_by(audience.reached_by))
    return conditions


def matched_query(audience: Targets) -> Select[Any]:
    """The ids of the enterprises ``audience`` targets, whether or not any channel reaches them
    (one unsubscribed from everything included): whom a policy is meant for."""
    targets = replace(audience, done_deadlines=(), reached_by=(), channels=())
    return select(Enterprise.id).where(true(), *_target_conditions(targets))


def _reached_by(policy_ids: Sequence[int]) -> ColumnElement[bool]:
    """A message of these policies went out to the enterprise on the contact's channel."""
    return exists().where(
        Delivery.enterprise_id == Enterprise.id,
        Delivery.channel == Contact.channel,
        Delivery.policy_id.in_(policy_ids),
        Delivery.status.in_((DeliveryStatus.SENT, DeliveryStatus.DELIVERED)),
    )


def _matched_sector(audience: Targets) -> Any:
    if not audience.sectors:
        return None
    return (
        select(func.min(EnterpriseSector.code))
        .where(EnterpriseSector.enterprise_id == Enterprise.id, _sector_match(audience.sectors))
        .scalar_subquery()
    )


def recipients_query(audience: Targets, *, channels: Sequence[str] = ()) -> Select[Any]:
    """The recipients, ordered by (enterprise, contact) so they can be read in pages."""
    channel_ok: ColumnElement[bool] = Contact.channel.in_(channels) if channels else true()
    matched = _matched_sector(audience)
    columns: list[Any] = [
        Enterprise.id.label("enterprise_id"),
        Contact.id.label("contact_id"),
        Enterprise.credit_code,
        Enterprise.name,
        Contact.channel,
        Contact.address,
        Enterprise.region,
        Enterprise.size,
    ]
    if matched is not None:
        columns.append(matched.label("matched_sector"))
    return (
        on_subscribed_contacts(select(*columns))
        .where(channel_ok, *_conditions(audience))
        .order_by(Enterprise.id, Contact.id)
    )


def on_subscribed_contacts(query: Select[Any]) -> Select[Any]:
    """``query`` over enterprises, joined to each contact whose channel the enterprise is
    subscribed to (a row per such contact)."""
    return query.join(Contact, Contact.enterprise_id == Enterprise.id).join(
        Subscription,
        and_(
            Subscription.enterprise_id == Enterprise.id,
            Subscription.channel == Contact.channel,
            Subscription.subscribed.is_(True),
        ),
    )


def _reason(audience: Targets, row: Any) -> dict[str, Any]:
    reason: dict[str, Any] = {}
    if audience.sectors:
        reason["sector"] = row.matched_sector
    if audience.regions:
        reason["region"] = row.region
    if audience.sizes:
        reason["size"] = row.size
    if audience.tags:
        reason["tags"] = list(audience.tags)
    if audience.credit_codes:
        reason["listed"] = True
    if audience.reached_by:
        reason["reached_before"] = True
    return reason or {"all": True}


def page(
    session: Session,
    audience: Targets,
    *,
    after: tuple[int, int] | None,
    size: int,
    channels: Sequence[str] = (),
) -> list[Recipient]:
    """One page of recipients after the (enterprise id, contact id) key ``after``."""
    query = recipients_query(audience, channels=channels)
    if after is not None:
        query = query.where(tuple_(Enterprise.id, Contact.id) > after)
    return [
        Recipient(
            enterprise_id=row.enterprise_id,
            contact_id=row.contact_id,
            credit_code=row.credit_code,
            name=row.name,
            channel=row.channel,
            address=row.address,
            reason=_reason(audience, row),
        )
        for row in session.execute(query.limit(size))
    ]


def next_key(recipients: list[Recipient]) -> tuple[int, int]:
    """The paging key after the last recipient of a page."""
    return recipients[-1].enterprise_id, recipients[-1].contact_id


def count_by_channel(session: Session, audience: Targets) -> dict[str, int]:
    """How many deliveries a fan-out over ``audience`` would make, per channel."""
    recipients = recipients_query(audience).order_by(None).subquery()
    query = select(recipients.c.channel, func.count()).group_by(recipients.c.channel)
    return {channel: number for channel, number in session.execute(query)}


def count_enterprises(session: Session, audience: Targets) -> int:
    """How many enterprises a fan-out over ``audience`` reaches on at least one channel."""
    recipients = recipients_query(audience).order_by(None).subquery()
    return session.scalar(select(func.count(recipients.c.enterprise_id.distinct()))) or 0


def enterprises_total(session: Session) -> int:
    """How many enterprises are registered, subscribed or not."""
    return session.scalar(select(func.count()).select_from(Enterprise)) or 0


def unmatched_targets(session: Session, audience: Targets) -> dict[str, list[str]]:
    """Target values that no registered enterprise has (a typo, or a register not yet loaded).

    Each value is looked at alone, so a sector prefix that matches nobody is named even when
    other sectors of the same policy do match.
    """
    checks: dict[str, list[tuple[str, ColumnElement[bool]]]] = {
        "sectors": [
            (p, exists().where(EnterpriseSector.code.startswith(p, autoescape=True)))
            for p in audience.sectors
        ],
        "regions": [(r, exists().where(in_regions([r]))) for r in audience.regions],
        "sizes": [(s, exists().where(Enterprise.size == s)) for s in audience.sizes],
        "tags": [(t, exists().where(EnterpriseTag.tag == t)) for t in audience.tags],
        "topics": [(t, exists().where(EnterpriseTopic.topic == t)) for t in audience.topics],
    }
    missing: dict[str, list[str]] = {}
    for name, values in checks.items():
        for value, found in values:
            if not session.scalar(select(found)):
                missing.setdefault(name, []).append(value)
    if audience.credit_codes:
        known = set(
            session.scalars(
                select(Enterprise.credit_code).where(
                    Enterprise.credit_code.in_(audience.credit_codes)
                )
            )
        )
        unknown = [code for code in audience.credit_codes if code not in known]
        if unknown:
            missing["credit_codes"] = unknown
    return missing
