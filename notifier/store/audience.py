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

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

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


class _JsonObject(FunctionElement[Any]):
    """A JSON object from key, value, key, value ... (PostgreSQL ``json_build_object``,
    SQLite ``json_object``)."""

    inherit_cache = True
    name = "json_object"


@compiles(_JsonObject)
def _json_object_sqlite(element: _JsonObject, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(_JsonObject, "postgresql")
def _json_object_postgresql(element: _JsonObject, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


class _JsonValue(FunctionElement[Any]):
    """A JSON value given as its text (a constant of the query)."""

    inherit_cache = True
    name = "json"


@compiles(_JsonValue)
def _json_value_sqlite(element: _JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json({compiler.process(element.clauses, **kw)})"


@compiles(_JsonValue, "postgresql")
def _json_value_postgresql(element: _JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS json)"


def _constant(value: Any) -> ColumnElement[Any]:
    return _JsonValue(bindparam(None, json.dumps(value, ensure_ascii=False)))


def _matched_sector(audience: Targets) -> Any:
    return (
        select(func.min(EnterpriseSector.code))
        .where(EnterpriseSector.enterprise_id == Enterprise.id, _sector_match(audience.sectors))
        .scalar_subquery()
    )


def reason(audience: Targets) -> ColumnElement[Any]:
    """Why a recipient was reached, as a JSON object computed by the database: the matched
    sector (the lowest code under a target), region and size, the target tags, ``listed`` (named
    by credit code), ``reached_before``; ``{"all": true}`` when nothing narrowed the audience."""
    pairs: list[tuple[str, Any]] = []
    if audience.sectors:
        pairs.append(("sector", _matched_sector(audience)))
    if audience.regions:
        pairs.append(("region", Enterprise.region))
    if audience.sizes:
        pairs.append(("size", Enterprise.size))
    if audience.tags:
        pairs.append(("tags", _constant(list(audience.tags))))
    if audience.credit_codes:
        pairs.append(("listed", _constant(True)))
    if audience.reached_by:
        pairs.append(("reached_before", _constant(True)))
    if not pairs:
        pairs.append(("all", _constant(True)))
    arguments: list[Any] = []
    for key, value in pairs:
        # Keys written into the SQL: PostgreSQL cannot type a parameter of json_build_object.
        arguments += [literal_column(f"'{key}'"), value]
    return _JsonObject(*arguments)


def recipients_query(audience: Targets, *, channels: Sequence[str] = ()) -> Select[Any]:
    """The recipients, ordered by (enterprise, contact) so they can be read in pages."""
    return _recipients(
        audience,
        channels,
        Enterprise.id.label("enterprise_id"),
        Contact.id.label("contact_id"),
        Enterprise.credit_code,
        Enterprise.name,
        Contact.channel,
        Contact.address,
        type_coerce(reason(audience), JSON).label("reason"),
    )


def _recipients(audience: Targets, channels: Sequence[str], *columns: Any) -> Select[Any]:
    channel_ok: ColumnElement[bool] = Contact.channel.in_(channels) if channels else true()
    return (
        on_subscribed_contacts(select(*columns))
        .where(channel_ok, *_conditions(audience))
        .order_by(Enterprise.id, Contact.id)
    )


def window_end(session: Session, audience: Targets, *, after: int | None, size: int) -> int | None:
    """The id of the ``size``-th enterprise after ``after`` that ``audience`` may reach (its
    conditions on the enterprise alone); None when fewer are left (the last window).

    Fan-out reads the audience in windows of enterprise ids: one walk of the primary key finds
    the window's end, and the recipients in it are one index range of each table.
    """
    candidates = select(Enterprise.id).where(
        *_conditions(replace(audience, channels=(), reached_by=()))
    )
    if after is not None:
        candidates = candidates.where(Enterprise.id > after)
    found = session.scalar(candidates.order_by(Enterprise.id).offset(size - 1).limit(1))
    return None if found is None else int(found)


def in_window(query: Select[Any], after: int | None, until: int | None) -> Select[Any]:
    """``query`` (over recipients) narrowed to the enterprises with ids after ``after`` up to
    ``until`` (either end open when None)."""
    # The bound on each table: PostgreSQL does not carry a range across the join's equality.
    if after is not None:
        query = query.where(Enterprise.id > after, Contact.enterprise_id > after)
    if until is not None:
        query = query.where(Enterprise.id <= until, Contact.enterprise_id <= until)
    return query


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
            reason=row.reason,
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
