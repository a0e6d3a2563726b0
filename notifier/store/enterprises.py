"""Enterprises: import (a set-based upsert by credit code), listing and unsubscribing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from notifier.domain.channel_names import CHANNELS, EMAIL, SMS, WEBHOOK
from notifier.domain.records import EnterpriseRecord
from notifier.store import table_of
from notifier.store.models import (
    Contact,
    Enterprise,
    EnterpriseSector,
    EnterpriseTag,
    EnterpriseTopic,
    Subscription,
)
from notifier.store.models.base import utcnow

_ABSENT = object()


@dataclass(frozen=True)
class UpsertResult:
    """What an import did to one enterprise."""

    created: bool
    kept_unsubscribed: tuple[str, ...] = ()


def get_by_credit_code(session: Session, credit_code: str) -> Enterprise | None:
    """The enterprise with this credit code, or None."""
    return session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code))


class _Before(NamedTuple):
    """An enterprise as it was before this chunk was stored."""

    id: int
    name: str
    region: str
    size: str
    unsubscribed: bool


# Child tables that hold one value per row: (model, column, record field).
_VALUE_CHILDREN: tuple[tuple[type[Any], str, str], ...] = (
    (EnterpriseSector, "code", "sectors"),
    (EnterpriseTag, "tag", "tags"),
    (EnterpriseTopic, "topic", "topics"),
)


def upsert_enterprises(session: Session, records: Sequence[EnterpriseRecord]) -> list[UpsertResult]:
    """Create or update the enterprises named by the records' credit codes.

    Set-based, for a chunk of records at a time: a few statements per table, whatever the
    number of records. Rows that do not change are not written and keep their ids (contacts,
    sectors, subscriptions); an enterprise whose name, region and size are unchanged keeps its
    ``updated_at``. Subscriptions follow ``_sync_subscriptions``. The caller commits (or, for
    a dry run, rolls back); objects already loaded in the session are not refreshed.

    Returns:
        One result per record, in order.

    Raises:
        ValueError: a credit code appears twice among the records.
    """
    codes = [record.credit_code for record in records]
    if len(set(codes)) != len(codes):
        raise ValueError("a credit code appears more than once in one upsert")
    if not records:
        return []
    now = utcnow()
    before = _load_before(session, codes)
    ids = _write_enterprises(session, records, before, now)
    old_ids = [enterprise.id for enterprise in before.values()]
    for model, name, attr in _VALUE_CHILDREN:
        wanted = [(ids[r.credit_code], value) for r in records for value in getattr(r, attr)]
        _sync_rows(session, table_of(model), (name,), wanted, old_ids)
    contacts = [(ids[r.credit_code], *contact) for r in records for contact in _contacts_of(r)]
    _sync_rows(session, table_of(Contact), ("channel", "address"), contacts, old_ids)
    kept = _sync_subscriptions(session, records, ids, before, now)
    return [
        UpsertResult(
            created=r.credit_code not in before, kept_unsubscribed=kept.get(r.credit_code, ())
        )
        for r in records
    ]


def refresh_statistics(session: Session) -> None:
    """Have PostgreSQL's planner count the enterprise tables again, after a large import.

    Without statistics (until autovacuum comes, or where it is off) the planner reads a whole
    child table for each chunk of the next re-import instead of using its index. SQLite uses
    its indexes without statistics, so there this does nothing.
    """
    if not _on_postgresql(session):
        return
    models = (Enterprise, EnterpriseSector, EnterpriseTag, EnterpriseTopic, Contact, Subscription)
    session.execute(text("ANALYZE " + ", ".join(table_of(m).name for m in models)))


def _load_before(session: Session, credit_codes: list[str]) -> dict[str, _Before]:
    table = table_of(Enterprise)
    query = select(
        table.c.credit_code,
        table.c.id,
        table.c.name,
        table.c.region,
        table.c.size,
        table.c.unsubscribed_at.is_not(None),
    ).where(_among(session, table.c.credit_code, credit_codes))
    return {code: _Before(*rest) for code, *rest in session.execute(query).all()}


def _write_enterprises(
    session: Session,
    records: Sequence[EnterpriseRecord],
    before: dict[str, _Before],
    now: datetime,
) -> dict[str, int]:
    """Insert the new enterprises and update the changed ones; return every record's id."""
    ids = {code: enterprise.id for code, enterprise in before.items()}
    changed = [
        r
        for r in records
        if (old := before.get(r.credit_code)) is None
        or (old.name, old.region, old.size) != (r.name, r.region, r.size)
    ]
    if changed:
        table = table_of(Enterprise)
        given = [
            {"credit_code": r.credit_code, "name": r.name, "region": r.region, "size": r.size}
            for r in changed
        ]
        stamps = {"created_at": now, "updated_at": now}
        insert, rows = _insert(session, table, given, stamps)
        # On a conflict (another import stored the code since _load_before) it updates too.
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.credit_code],
            set_={
                "name": insert.excluded.name,
                "region": insert.excluded.region,
                "size": insert.excluded.size,
                "updated_at": insert.excluded.updated_at,
            },
        ).returning(table.c.credit_code, table.c.id)
        ids.update((code, row_id) for code, row_id in session.execute(upsert, rows))
    return ids


def _sync_rows(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    wanted: list[tuple[Any, ...]],
    old_ids: list[int],
) -> None:
    """Make ``table`` hold exactly the ``wanted`` (enterprise id, *columns) rows for the chunk.

    Rows already there are left alone, so their ids stay; only enterprises in ``old_ids``
    can have rows already.
    """
    keys = dict.fromkeys(wanted)
    stale: list[int] = []
    if old_ids:
        query = select(table.c.id, table.c.enterprise_id, *(table.c[c] for c in columns)).where(
            _among(session, table.c.enterprise_id, old_ids)
        )
        for row_id, *key in session.execute(query).all():
            if keys.pop(tuple(key), _ABSENT) is _ABSENT:
                stale.append(row_id)
    if stale:
        session.execute(delete(table).where(_among(session, table.c.id, stale)))
    if keys:
        names = ("enterprise_id", *columns)
        given = [dict(zip(names, key, strict=True)) for key in keys]
        insert, rows = _insert(session, table, given, {})
        session.execute(insert.on_conflict_do_nothing(), rows)


def _sync_subscriptions(
    session: Session,
    records: Sequence[EnterpriseRecord],
    ids: dict[str, int],
    before: dict[str, _Before],
    now: datetime,
) -> dict[str, tuple[str, ...]]:
    """Subscribe to the chosen channels; never re-subscribe one the enterprise left.

    A channel no longer chosen stops: its row goes, so choosing it again subscribes anew. An
    unsubscribe (subscribed=False, the enterprise's own choice) is kept as it is, and an
    enterprise that left everything (``unsubscribed_at``) gets new channels unsubscribed.

    Returns:
        For each credit code that stays unsubscribed somewhere, those chosen channels.
    """
    table = table_of(Subscription)
    current: dict[int, dict[str, tuple[int, bool]]] = {}
    if before:
        query = select(
            table.c.enterprise_id, table.c.channel, table.c.id, table.c.subscribed
        ).where(_among(session, table.c.enterprise_id, [e.id for e in before.values()]))
        for enterprise_id, channel, row_id, on in session.execute(query).all():
            current.setdefault(enterprise_id, {})[channel] = (row_id, on)
    new: list[dict[str, Any]] = []
    stopped: list[int] = []
    kept: dict[str, tuple[str, ...]] = {}
    for record in records:
        enterprise_id = ids[record.credit_code]
        have = current.get(enterprise_id, {})
        old = before.get(record.credit_code)
        left = old is not None and old.unsubscribed
        stays_off = []
        for channel in record.channels:
            if channel not in have:
                new.append(
                    {"enterprise_id": enterprise_id, "channel": channel, "subscribed": not left}
                )
            if left if channel not in have else not have[channel][1]:
                stays_off.append(channel)
        if stays_off:
            kept[record.credit_code] = tuple(stays_off)
        stopped += [
            row_id
            for channel, (row_id, on) in have.items()
            if on and channel not in record.channels
        ]
    if stopped:
        # Re-checked here: an unsubscribe that came in meanwhile is not deleted.
        session.execute(
            delete(table).where(_among(session, table.c.id, stopped), table.c.subscribed.is_(True))
        )
    if new:
        insert, rows = _insert(session, table, new, {"changed_at": now})
        # A conflict is an unsubscribe stored meanwhile; it stays.
        session.execute(insert.on_conflict_do_nothing(), rows)
    return kept


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _among(session: Session, column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``), not one per value."""
    if _on_postgresql(session):
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _insert(
    session: Session, table: Table, given: list[dict[str, Any]], same: dict[str, Any]
) -> tuple[Any, list[dict[str, Any]] | None]:
    """An INSERT of the ``given`` rows, each with the ``same`` values too, and its parameters.

    PostgreSQL gets one statement with the rows as one JSON parameter (``json_to_recordset``),
    whatever their number: an array per column would cost the driver more than the database.
    SQLite runs the statement once per row (``executemany``, in C).
    """
    names = list(given[0])
    if _on_postgresql(session):
        rows = (
            func.json_to_recordset(bindparam(None, given, type_=postgresql.JSON))
            .table_valued(*(column(name, table.c[name].type) for name in names))
            .render_derived(with_types=True)
        )
        constants = [
            bindparam(None, value, type_=table.c[name].type) for name, value in same.items()
        ]
        query = select(*rows.c, *constants)
        return postgresql.insert(table).from_select([*names, *same], query), None
    return sqlite.insert(table), [row | same for row in given]


def _contacts_of(record: EnterpriseRecord) -> list[tuple[str, str]]:
    wanted = ((SMS, record.phone), (EMAIL, record.email), (WEBHOOK, record.webhook_url))
    return [(channel, address) for channel, address in wanted if address]


def region_counts(session: Session) -> list[tuple[str, int]]:
    """Every region the register holds and how many enterprises it has, in one query."""
    query = (
        select(Enterprise.region, func.count())
        .where(Enterprise.region != "")
        .group_by(Enterprise.region)
        .order_by(Enterprise.region)
    )
    return [(region, count) for region, count in session.execute(query)]


@dataclass(frozen=True)
class EnterpriseFilter:
    """Filters for listing enterprises (each optional; all given must hold)."""

    sector: str | None = None  # a GB/T 4754 prefix
    region: str | None = None  # a region path prefix
    size: str | None = None
    channel: str | None = None  # subscribed on this channel
    q: str | None = None  # part of the name or of the credit code


def _filtered(query: Select[Any], filters: EnterpriseFilter) -> Select[Any]:
    if filters.sector:
        under = select(EnterpriseSector.enterprise_id).where(
            EnterpriseSector.code.startswith(filters.sector, autoescape=True)
        )
        query = query.where(Enterprise.id.in_(under))
    if filters.region:
        query = query.where(Enterprise.region.startswith(filters.region, autoescape=True))
    if filters.size:
        query = query.where(Enterprise.size == filters.size)
    if filters.channel:
        takes = select(Subscription.enterprise_id).where(
            Subscription.channel == filters.channel, Subscription.subscribed.is_(True)
        )
        query = query.where(Enterprise.id.in_(takes), Enterprise.unsubscribed_at.is_(None))
    if filters.q:
        query = query.where(
            Enterprise.name.contains(filters.q, autoescape=True)
            | Enterprise.credit_code.contains(filters.q.upper(), autoescape=True)
        )
    return query


def list_query(
    *, sector: str | None = None, filters: EnterpriseFilter | None = None
) -> Select[Enterprise]:
    """Enterprises in credit-code order, optionally only those under a sector prefix, or
    matching ``filters``."""
    query = select(Enterprise).order_by(Enterprise.credit_code)
    query = _filtered(query, filters or EnterpriseFilter(sector=sector))
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


def page_enterprises(
    session: Session, filters: EnterpriseFilter, *, after: str | None, limit: int
) -> list[Enterprise]:
    """One page of enterprises matching ``filters``, those after credit code ``after``."""
    query = list_query(filters=filters)
    if after:
        query = query.where(Enterprise.credit_code > after)
    return list(session.scalars(query.limit(limit)))


def get_full(session: Session, credit_code: str) -> Enterprise | None:
    """The enterprise with this credit code, its sectors, tags, topics, contacts and
    subscriptions loaded; or None."""
    query = list_query().where(Enterprise.credit_code == credit_code)
    return session.scalar(query.options(selectinload(Enterprise.contacts)))


def get_full_by_id(session: Session, enterprise_id: int) -> Enterprise | None:
    """As :func:`get_full`, by id."""
    query = list_query().where(Enterprise.id == enterprise_id)
    return session.scalar(query.options(selectinload(Enterprise.contacts)))


def unsubscribe(
    session: Session,
    credit_codes: Iterable[str],
    *,
    channel: str | None = None,
    source: str = "staff",
) -> list[str]:
    """Unsubscribe enterprises from one channel, or from everything when ``channel`` is None;
    ``source`` says where the word came from (see :mod:`notifier.domain.consent`).

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
                    Subscription(channel=name, subscribed=False, changed_at=now, source=source)
                )
            elif subscription.subscribed:
                subscription.subscribed = False
                subscription.changed_at = now
                subscription.source = source
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
