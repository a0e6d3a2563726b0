"""Deliveries: created from recipients, queued, claimed, recorded, swept and listed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from notifier.domain.channel_names import WEBHOOK
from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.targets import Targets
from notifier.store import audience as audiences
from notifier.store import insert_ignoring_conflicts, table_of, triggers
from notifier.store.models import (
    Contact,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Enterprise,
    Policy,
    Trigger,
)
from notifier.store.models.base import UTCDateTime
from notifier.store.models.delivery import FINAL_STATUSES
from notifier.store.scope import deliveries_in

S = DeliveryStatus
# Any select over deliveries a listing narrows by the same filters.
_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def idempotency_key(trigger_key: str, credit_code: str, channel: str, address: str) -> str:
    """The delivery's unique key: the same trigger never makes a second message to a recipient."""
    raw = "|".join((trigger_key, credit_code, channel, address))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


class IdempotencyKey(FunctionElement[str]):
    """:func:`idempotency_key` of (trigger key, credit code, channel, address), in SQL."""

    inherit_cache = True
    name = "notifier_idempotency_key"
    type = String()


@compiles(IdempotencyKey)
def _key_sqlite(element: IdempotencyKey, compiler: SQLCompiler, **kw: Any) -> str:
    # The Python function itself, registered on the connection by with_key_function.
    return f"notifier_idempotency_key({compiler.process(element.clauses, **kw)})"


@compiles(IdempotencyKey, "postgresql")
def _key_postgresql(element: IdempotencyKey, compiler: SQLCompiler, **kw: Any) -> str:
    parts = " || '|' || ".join(compiler.process(c, **kw) for c in element.clauses)
    return f"left(encode(sha256(convert_to({parts}, 'UTF8')), 'hex'), 40)"


def with_key_function(session: Session) -> None:
    """Give SQLite the key function (whichever engine made the connection; registering
    again replaces it)."""
    if session.get_bind().dialect.name == "sqlite":
        connection: Any = session.connection().connection.driver_connection
        connection.create_function(
            "notifier_idempotency_key", 4, idempotency_key, deterministic=True
        )


def insert_page(
    session: Session,
    trigger: Trigger,
    audience: Targets,
    *,
    after: int | None,
    until: int | None,
    now: datetime,
) -> list[int]:
    """Insert a delivery, already ``queued``, for each recipient of ``audience`` whose
    enterprise id is after ``after`` up to ``until``; return the ids of the new rows.

    One ``INSERT .. SELECT`` over the audience query: the key and the reason are computed by
    the database, no row passes through Python. Rows that already exist (a fan-out run again)
    are left alone and not returned, so the caller queues each delivery once.
    """
    with_key_function(session)
    recipients = audiences.in_window(audiences.recipients_query(audience), after, until).subquery()
    rows = select(
        IdempotencyKey(
            literal(trigger.key, String()),
            recipients.c.credit_code,
            recipients.c.channel,
            recipients.c.address,
        ),
        literal(trigger.id),
        literal(trigger.policy_id, Integer()),
        recipients.c.enterprise_id,
        recipients.c.channel,
        recipients.c.address,
        recipients.c.reason,
        literal(triggers.message_class_of(trigger), String()),
        literal(S.QUEUED.value, String()),
        literal(now, UTCDateTime()),
        literal(0),
        literal(0),
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
    ).where(true())  # SQLite reads an ON after a bare FROM as a join's
    columns = [
        "idempotency_key", "trigger_id", "policy_id", "enterprise_id", "channel", "address",
        "reason", "message_class", "status", "queued_at", "attempts", "throttled", "created_at",
        "updated_at",
    ]  # fmt: skip
    statement = (
        insert_ignoring_conflicts(session, table_of(Delivery))
        .from_select(columns, rows)
        .returning(_deliveries.id)
    )
    return list(session.scalars(statement))


def queue_pending(session: Session, trigger_id: int, *, limit: int, now: datetime) -> list[int]:
    """Move up to ``limit`` pending deliveries of a trigger to queued; return their ids."""
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.trigger_id == trigger_id, Delivery.status == S.PENDING)
            .order_by(Delivery.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    # Re-checking the status makes two concurrent fan-outs queue each delivery once.
    return list(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == S.PENDING)
            .values(status=S.QUEUED, queued_at=now)
            .returning(Delivery.id)
        )
    )


def queued_for(session: Session, ids: Sequence[int], *, at: datetime) -> None:
    """Mark queued deliveries as queued for ``at`` (a throttled batch waiting for its turn), so
    the sweeper counts their wait from then."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.status == S.QUEUED)
        .values(queued_at=at)
        .execution_options(synchronize_session=False)
    )


def count_for_trigger(session: Session, trigger_id: int) -> int:
    """How many deliveries a trigger has."""
    return (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.trigger_id == trigger_id)
        )
        or 0
    )


def claimable(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Queued, or deferred and due: what a worker may take."""
    return or_(
        Delivery.status == S.QUEUED,
        (Delivery.status == S.DEFERRED)
        & or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )


_deliveries = table_of(Delivery).c
_NOW = bindparam("now", type_=UTCDateTime())
# Built once: per-message statements dominate a worker's time when they are built each time.
_CLAIM_MANY = (
    update(table_of(Delivery))
    .where(_deliveries.id.in_(bindparam("delivery_ids", expanding=True)), claimable(_NOW))
    .values(status=S.SENDING, claimed_at=_NOW, attempts=_deliveries.attempts + 1)
    .returning(_deliveries.id, _deliveries.attempts)
)


def load_for_sending(session: Session, ids: Sequence[int], *, now: datetime) -> list[Delivery]:
    """The deliveries among ``ids`` that are due, with all that rendering needs loaded up front.

    Nothing may load lazily later: a query during a send would hold a transaction (and on
    SQLite the write lock) across the network call. The firms come in a second query, with
    only what the batch's messages read: sectors for campaign templates, and webhook
    endpoints' own signing secrets (the firm's other contacts stay unloaded: every message
    of a batch built all of them).
    """
    query = (
        select(Delivery)
        .where(Delivery.id.in_(ids), claimable(now))
        .order_by(Delivery.id)
        .options(
            selectinload(Delivery.trigger)
            .selectinload(Trigger.policy)
            .selectinload(Policy.deadlines),
            # A correction's message says what its revision changed.
            selectinload(Delivery.trigger)
            .selectinload(Trigger.policy)
            .selectinload(Policy.revisions),
            selectinload(Delivery.trigger).selectinload(Trigger.deadline),
            selectinload(Delivery.trigger).selectinload(Trigger.campaign),
        )
    )
    batch = list(session.scalars(query))
    if not batch:
        return batch
    firms = select(Enterprise).where(Enterprise.id.in_({d.enterprise_id for d in batch}))
    if any(d.trigger.campaign_id is not None for d in batch):
        firms = firms.options(selectinload(Enterprise.sectors))
    if any(d.channel == WEBHOOK for d in batch):
        webhooks = Enterprise.contacts.and_(Contact.channel == WEBHOOK)
        firms = firms.options(selectinload(webhooks).selectinload(Contact.signing_secret))
    loaded = {firm.id: firm for firm in session.scalars(firms)}
    for delivery in batch:  # no lazy load later, not even from the identity map
        set_committed_value(delivery, "enterprise", loaded.get(delivery.enterprise_id))
    return batch


def claim(session: Session, batch: Sequence[Delivery], *, now: datetime) -> list[Delivery]:
    """Atomically take deliveries for sending, just before they are sent; return those taken.

    One statement for the lot. Only one worker wins a delivery, however many messages carry
    its id (a duplicate from the broker, a sweep, a retry). Each winner's ``attempts`` is
    brought up to date.
    """
    if not batch:
        return []
    rows = session.connection().execute(
        _CLAIM_MANY, {"delivery_ids": [d.id for d in batch], "now": now}
    )
    taken: dict[int, int] = {delivery_id: attempts for delivery_id, attempts in rows}
    won = []
    for delivery in batch:
        if delivery.id in taken:
            # Not a change to flush: the row already holds it.
            set_committed_value(delivery, "attempts", taken[delivery.id])
            won.append(delivery)
    return won


def _held(ids: Sequence[int]) -> ColumnElement[bool]:
    """Among ``ids``, the deliveries still claimed by the claim made at ``:held_since``."""
    return and_(
        _deliveries.id.in_(list(ids)),
        _deliveries.status == S.SENDING,
        _deliveries.claimed_at == bindparam("held_since", type_=UTCDateTime()),
    )


def keep_claims(
    session: Session, ids: Sequence[int], *, claimed_at: datetime, now: datetime
) -> set[int]:
    """Renew this worker's claims on ``ids`` (made at ``claimed_at``); return those still held.

    A delivery the sweeper put back meanwhile (its claim looked abandoned) is no longer held:
    another worker may be sending it, so this one must not.
    """
    if not ids:
        return set()
    return set(
        session.connection().scalars(
            update(table_of(Delivery))
            .where(_held(ids))
            .values(claimed_at=bindparam("now", type_=UTCDateTime()))
            .returning(_deliveries.id),
            {"held_since": claimed_at, "now": now},
        )
    )


def release(session: Session, ids: Sequence[int], *, claimed_at: datetime) -> None:
    """Give back claims not used (a batch out of time): queued again, the attempt not counted."""
    if not ids:
        return
    session.connection().execute(
        update(table_of(Delivery))
        .where(_held(ids))
        .values(status=S.QUEUED, claimed_at=None, attempts=_deliveries.attempts - 1),
        {"held_since": claimed_at},
    )


def give_back(
    session: Session,
    delivery_id: int,
    *,
    claimed_at: datetime,
    status: str,
    next_attempt_at: datetime | None,
    reason: str,
) -> None:
    """Put a claimed delivery that was not sent back as ``status`` (its campaign was paused:
    deferred until resumed; cancelled: cancelled), the attempt not counted."""
    session.connection().execute(
        update(table_of(Delivery))
        .where(_held([delivery_id]))
        .values(
            status=status,
            claimed_at=None,
            attempts=_deliveries.attempts - 1,
            next_attempt_at=next_attempt_at,
            last_error=reason,
        ),
        {"held_since": claimed_at},
    )


def hold(
    session: Session,
    until: dict[int, datetime],
    *,
    now: datetime,
    reason: str,
    held: str | None = None,
) -> list[int]:
    """Put off deliveries still waiting to be claimed, each to its time in ``until``, as
    ``deferred``; the attempt count is not touched. ``held``, when given, marks why (a digest
    waits for its merge). Returns the ids held (a delivery another worker claimed meanwhile is
    left to it)."""
    values: dict[str, object] = {
        "status": S.DEFERRED,
        "next_attempt_at": None,
        "last_error": reason,
        "updated_at": now,
    }
    if held is not None:
        values["held"] = held
    taken_ids = []
    for delivery_id, moment in until.items():
        taken = session.connection().scalar(
            update(table_of(Delivery))
            .where(_deliveries.id == delivery_id, claimable(now))
            .values({**values, "next_attempt_at": moment})
            .returning(_deliveries.id)
        )
        if taken is not None:
            taken_ids.append(taken)
    return taken_ids


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status: DeliveryStatus
    provider: str | None = None
    provider_message_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    # False: the try does not count toward max_attempts (a throttled answer, an expiry).
    counted: bool = True
    # True: a throttled try, counted apart toward max_throttled_tries.
    throttled: bool = False


_RECORD_ATTEMPT = insert(table_of(DeliveryAttempt))
_RECORD_OUTCOME = (
    update(table_of(Delivery))
    .where(_deliveries.id == bindparam("delivery_id"))
    .values(
        status=bindparam("status"),
        attempts=_deliveries.attempts - bindparam("refund"),
        throttled=_deliveries.throttled + bindparam("throttled"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("next_attempt_at", type_=UTCDateTime()),
        updated_at=bindparam("now", type_=UTCDateTime()),
        provider=func.coalesce(bindparam("provider", type_=String()), _deliveries.provider),
        provider_message_id=func.coalesce(
            bindparam("provider_message_id", type_=String()), _deliveries.provider_message_id
        ),
        sent_at=func.coalesce(bindparam("sent_at", type_=UTCDateTime()), _deliveries.sent_at),
    )
)


@dataclass(frozen=True)
class Attempted:
    """One claimed delivery's attempt, waiting to be recorded."""

    delivery_id: int
    number: int
    outcome: Outcome
    started_at: datetime
    finished_at: datetime


def record(session: Session, attempts: Sequence[Attempted]) -> None:
    """Record attempts and move their deliveries to their new status (two statements).

    A delivery may have several attempts here (providers failed over within one send); its
    last one decides its status. Plain statements rather than the unit of work: a worker's
    session holds a whole batch, and flushing it would re-scan every object each time.
    """
    if not attempts:
        return
    connection = session.connection()
    connection.execute(
        _RECORD_ATTEMPT,
        [
            {
                "delivery_id": a.delivery_id,
                "number": a.number,
                "outcome": a.outcome.status,
                "provider": a.outcome.provider,
                "provider_message_id": a.outcome.provider_message_id,
                "error": a.outcome.error,
                "started_at": a.started_at,
                "finished_at": a.finished_at,
            }
            for a in attempts
        ],
    )
    deciding = {a.delivery_id: a for a in attempts}  # the last attempt of each delivery
    connection.execute(
        _RECORD_OUTCOME,
        [
            {
                "delivery_id": a.delivery_id,
                "status": a.outcome.status,
                "error": a.outcome.error,
                "next_attempt_at": a.outcome.next_attempt_at,
                "now": a.finished_at,
                "provider": a.outcome.provider,
                "provider_message_id": (
                    a.outcome.provider_message_id if a.outcome.status == S.SENT else None
                ),
                "sent_at": a.finished_at if a.outcome.status == S.SENT else None,
                "refund": 0 if a.outcome.counted else 1,
                "throttled": 1 if a.outcome.throttled else 0,
            }
            for a in deciding.values()
        ],
    )


def sweep(
    session: Session, *, now: datetime, stuck_after: timedelta, max_attempts: int, limit: int
) -> list[int]:
    """Put back on the queue up to ``limit`` deliveries that were lost on the way; return them.

    A delivery is lost when it sat ``sending`` (its worker died), ``queued`` (its broker message
    was lost), ``pending`` (its fan-out stopped before queueing) or ``deferred`` past its retry
    time for longer than ``stuck_after``. One that died while sending on every allowed attempt
    is failed instead, so a message that crashes workers cannot loop for ever.

    A long backlog also looks "lost" after ``stuck_after``; ``limit`` bounds the extra messages
    such a sweep adds (the claim makes them harmless), and their reset ``queued_at`` keeps the
    same rows from being swept again before another ``stuck_after`` has passed.
    """
    cutoff = now - stuck_after
    session.execute(
        update(Delivery)
        .where(
            Delivery.status == S.SENDING,
            Delivery.claimed_at <= cutoff,
            Delivery.attempts >= max_attempts,
        )
        .values(status=S.FAILED, last_error="worker stopped while sending, on every attempt")
    )
    lost = or_(
        (Delivery.status == S.SENDING) & (Delivery.claimed_at <= cutoff),
        (Delivery.status == S.QUEUED) & (Delivery.queued_at <= cutoff),
        (Delivery.status == S.PENDING) & (Delivery.created_at <= cutoff),
        (Delivery.status == S.DEFERRED) & (Delivery.next_attempt_at <= cutoff),
    )
    ids = list(session.scalars(select(Delivery.id).where(lost).order_by(Delivery.id).limit(limit)))
    if not ids:
        return []
    return list(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), lost)
            .values(status=S.QUEUED, queued_at=now, claimed_at=None)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )


def purge(session: Session, *, finished_before: datetime, now: datetime, limit: int) -> int:
    """Remove the address and error texts of up to ``limit`` finished deliveries last changed
    before ``finished_before``; status, channel, provider and times stay, so counts hold.

    Returns:
        How many deliveries were purged (fewer than ``limit``: none are left).
    """
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status.in_(list(FINAL_STATUSES)),
                Delivery.updated_at < finished_before,
                Delivery.purged_at.is_(None),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(ids))
        .values(error=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(address="", last_error=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


@dataclass(frozen=True)
class DeliveryFilter:
    """Filters for listing deliveries."""

    policy_id: int | None = None
    trigger_id: int | None = None
    status: str | None = None
    channel: str | None = None
    enterprise_id: int | None = None
    # Created at or after ``since`` and before ``until``.
    since: datetime | None = None
    until: datetime | None = None
    # A credit code, or part of an enterprise's name.
    search: str | None = None
    # Whose deliveries: only those to firms the actor may see (counts: see ``counting``).
    scope: Scope = DISTRICT
    # Counting for aggregates: a publisher's and an approver's numbers are the district's.
    counting: bool = False


def _filtered(query: _Query, filters: DeliveryFilter) -> _Query:
    if not filters.scope.district:
        query = query.where(deliveries_in(filters.scope, counting=filters.counting))
    if filters.policy_id is not None:
        query = query.where(Delivery.policy_id == filters.policy_id)
    if filters.trigger_id is not None:
        query = query.where(Delivery.trigger_id == filters.trigger_id)
    if filters.status:
        query = query.where(Delivery.status == filters.status)
    if filters.channel:
        query = query.where(Delivery.channel == filters.channel)
    if filters.enterprise_id is not None:
        query = query.where(Delivery.enterprise_id == filters.enterprise_id)
    if filters.since is not None:
        query = query.where(Delivery.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Delivery.created_at < filters.until)
    if filters.search:
        matching = select(Enterprise.id).where(
            or_(
                Enterprise.credit_code == filters.search.upper(),
                Enterprise.name.contains(filters.search, autoescape=True),
            )
        )
        query = query.where(Delivery.enterprise_id.in_(matching))
    return query


def newest_first(filters: DeliveryFilter) -> Select[Delivery]:
    """Deliveries matching ``filters``, newest first, their enterprise and trigger loaded
    (for paging)."""
    query = _filtered(select(Delivery), filters).order_by(Delivery.id.desc())
    return query.options(selectinload(Delivery.enterprise), selectinload(Delivery.trigger))


def list_deliveries(
    session: Session,
    filters: DeliveryFilter,
    *,
    limit: int | None = 50,
    before_id: int | None = None,
) -> list[Delivery]:
    """Deliveries matching ``filters``, newest first; with ``before_id`` (a cursor) only
    those with smaller ids."""
    query = newest_first(filters)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


_Row = TypeVar("_Row")
EXPORT_PAGE = 2_000


def in_pages(
    sessions: Callable[[], Session],
    filters: DeliveryFilter,
    convert: Callable[[Session, list[Delivery]], Iterable[_Row]],
    *,
    limit: int,
    size: int | None = None,
) -> Iterator[_Row]:
    """Up to ``limit`` deliveries matching ``filters``, newest first, as ``convert`` makes
    them, read ``size`` (default :data:`EXPORT_PAGE`) at a time (an export: never all of
    them in memory at once).

    Each page is read and converted in a short session of its own, and yielded after that
    session has ended: no transaction is held while the caller writes what it got.
    """
    before_id: int | None = None
    left, size = limit, size or EXPORT_PAGE
    while left > 0:
        wanted = min(size, left)
        with sessions() as session:
            page = list_deliveries(session, filters, limit=wanted, before_id=before_id)
            converted = list(convert(session, page))
        yield from converted
        if len(page) < wanted:
            return
        left -= len(page)
        before_id = page[-1].id


def status_counts(session: Session, filters: DeliveryFilter | None = None) -> dict[str, int]:
    """How many deliveries are in each status (only statuses that occur)."""
    query = select(Delivery.status, func.count()).group_by(Delivery.status)
    query = _filtered(query, filters or DeliveryFilter())
    return {status: number for status, number in session.execute(query)}


def channel_status_counts(
    session: Session, filters: DeliveryFilter | None = None
) -> dict[str, dict[str, int]]:
    """How many deliveries per channel and status."""
    query = select(Delivery.channel, Delivery.status, func.count()).group_by(
        Delivery.channel, Delivery.status
    )
    counts: dict[str, dict[str, int]] = {}
    for channel, status, number in session.execute(_filtered(query, filters or DeliveryFilter())):
        counts.setdefault(channel, {})[status] = number
    return counts


def channel_status_counts_since(
    session: Session, starts: Mapping[str, datetime], *, scope: Scope = DISTRICT
) -> dict[str, dict[str, dict[str, int]]]:
    """For each named start (``today``, ``week``): how many deliveries (that ``scope``
    counts) created since then per channel and status, all in one pass over the deliveries
    since the earliest start."""
    if not starts:
        return {}
    names = list(starts)
    columns = [func.sum(case((Delivery.created_at >= starts[name], 1), else_=0)) for name in names]
    query = (
        select(Delivery.channel, Delivery.status, *columns)
        .where(Delivery.created_at >= min(starts.values()), deliveries_in(scope, counting=True))
        .group_by(Delivery.channel, Delivery.status)
    )
    counts: dict[str, dict[str, dict[str, int]]] = {name: {} for name in names}
    for channel, status, *numbers in session.execute(query):
        for name, number in zip(names, numbers, strict=True):
            if number:
                counts[name].setdefault(channel, {})[status] = int(number)
    return counts


def get_delivery(session: Session, delivery_id: int, *, scope: Scope = DISTRICT) -> Delivery | None:
    """One delivery with its enterprise and trigger, or None when there is no such id (or its
    firm is not in ``scope``)."""
    query = (
        select(Delivery)
        .where(Delivery.id == delivery_id, deliveries_in(scope))
        .options(selectinload(Delivery.enterprise), selectinload(Delivery.trigger))
    )
    return session.scalars(query).first()


def attempts_of(session: Session, delivery_id: int) -> list[DeliveryAttempt]:
    """Every attempt at a delivery, first first."""
    query = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
    )
    return list(session.scalars(query))


def policy_exists(session: Session, policy_id: int) -> bool:
    """Whether a policy with this id exists."""
    return session.scalar(select(Policy.id).where(Policy.id == policy_id)) is not None
