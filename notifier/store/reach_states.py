"""Reach states (``reach_states``): one row per policy and firm, kept moving forward.

The rules are :mod:`notifier.domain.reach`'s; this module keeps them in SQL so that a whole
policy's firms are brought up to date in one statement, whatever their number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from notifier.domain.reach import ACTED, CONFIRMING, STAGES, ReachState
from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.targets import Targets
from notifier.store import audience as audiences
from notifier.store import insert_ignoring_conflicts, policies, table_of
from notifier.store.models import Delivery, DeliveryStatus, Enterprise, Policy, PolicyReach
from notifier.store.scope import counted_in, firms_in, owned_in, policies_in

_reach = table_of(PolicyReach)
# Delivery statuses still on their way (the firm is targeted until they end).
_UNDER_WAY = (
    DeliveryStatus.PENDING,
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENDING,
    DeliveryStatus.DEFERRED,
)
# The states the deliveries decide (below ACTED).
FROM_DELIVERIES: tuple[str, ...] = tuple(s for s, n in STAGES.items() if n < ACTED)


def _stage_of(column: Any) -> Any:
    """The SQL stage number of a state column."""
    return case(*((column == state, number) for state, number in STAGES.items()), else_=0)


def seed(session: Session, policy_id: int, audience: Targets, *, now: datetime) -> int:
    """Make a ``targeted`` row for every firm ``audience`` matches that has none yet (whether
    or not a channel reaches it); return how many were made."""
    matched = audiences.matched_query(audience).where(true())
    rows = select(
        literal(policy_id), matched.subquery().c.id, literal(ReachState.TARGETED.value),
        literal(False), literal(now), literal(now),
    )  # fmt: skip
    statement = insert_ignoring_conflicts(session, _reach).from_select(
        ["policy_id", "enterprise_id", "state", "question_open", "created_at", "updated_at"],
        rows.where(true()),
    )
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


# How far a delivery got, as a number: the best of a firm's deliveries decides its state.
_DELIVERY_RANK = case(
    (Delivery.status == DeliveryStatus.DELIVERED, 3),
    (Delivery.status == DeliveryStatus.SENT, 2),
    (Delivery.status.in_(list(_UNDER_WAY)), 1),
    else_=0,
)


def _from_deliveries() -> Any:
    """The state the row's firm's deliveries of the row's policy say (those made since the
    number was last found wrong): one index seek per row, its operand evaluated once."""
    best = (
        select(func.max(_DELIVERY_RANK))
        .where(
            Delivery.policy_id == _reach.c.policy_id,
            Delivery.enterprise_id == _reach.c.enterprise_id,
            or_(_reach.c.stale_before.is_(None), Delivery.created_at >= _reach.c.stale_before),
        )
        .scalar_subquery()
    )
    states = {3: ReachState.DELIVERED.value, 2: ReachState.SENT.value, 1: ReachState.TARGETED.value}
    return case(states, value=best, else_=ReachState.UNREACHABLE.value)


def refresh(
    session: Session,
    *,
    now: datetime,
    policy_id: int | None = None,
    delivery_ids: Sequence[int] = (),
    states: Sequence[str] = FROM_DELIVERIES,
) -> int:
    """Read again from the deliveries the state of the firms that have not acted yet (those
    in ``states``, all of them by default): of one policy, or of the firms and policies of
    ``delivery_ids``. Returns how many rows changed."""
    if not delivery_ids:
        return _refresh(session, now, states, policy_id, None) if policy_id is not None else 0
    # The firms per policy first (by the deliveries' key), so each update seeks its rows by
    # the primary key: a row-value IN list made SQLite read every row of the table, and the
    # derived state of each, once per batch of sends.
    firms: dict[int, set[int]] = {}
    pairs = select(Delivery.policy_id, Delivery.enterprise_id).where(
        Delivery.id.in_(list(delivery_ids)), Delivery.policy_id.is_not(None)
    )
    for policy, enterprise in session.execute(pairs):
        if policy is not None and policy_id in (None, policy):
            firms.setdefault(policy, set()).add(enterprise)
    return sum(
        _refresh(session, now, states, policy, sorted(enterprises))
        for policy, enterprises in sorted(firms.items())
    )


def _refresh(
    session: Session,
    now: datetime,
    states: Sequence[str],
    policy_id: int,
    enterprise_ids: Sequence[int] | None,
) -> int:
    derived = _from_deliveries()
    where: list[ColumnElement[bool]] = [
        _reach.c.policy_id == policy_id,
        _reach.c.state.in_([s for s in states if s in FROM_DELIVERIES]),
        _reach.c.state != derived,
    ]
    if enterprise_ids is not None:
        where.append(_reach.c.enterprise_id.in_(list(enterprise_ids)))
    statement = update(_reach).where(*where).values(state=derived, updated_at=now)
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def kept_for(session: Session, policy_id: int) -> bool:
    """Whether the policy has any reach rows yet."""
    return (
        session.scalar(select(_reach.c.policy_id).where(_reach.c.policy_id == policy_id).limit(1))
        is not None
    )


def _ensure(session: Session, policy_id: int, enterprise_id: int, now: datetime) -> None:
    """A row for the firm and policy (a firm can act on a policy published before rows were
    kept, or one the register matched only later)."""
    statement = insert_ignoring_conflicts(session, _reach).values(
        policy_id=policy_id, enterprise_id=enterprise_id, state=ReachState.TARGETED.value,
        question_open=False, created_at=now, updated_at=now,
    )  # fmt: skip
    session.execute(statement)


def _one(policy_id: int, enterprise_id: int) -> ColumnElement[bool]:
    return and_(_reach.c.policy_id == policy_id, _reach.c.enterprise_id == enterprise_id)


def advance(
    session: Session, policy_id: int, enterprise_id: int, state: ReachState, *, now: datetime
) -> bool:
    """Move the firm to ``state`` if that is further on than where it is; True when it moved."""
    _ensure(session, policy_id, enterprise_id, now)
    confirmed_at: Any = _reach.c.confirmed_at
    if state in CONFIRMING:
        confirmed_at = func.coalesce(_reach.c.confirmed_at, now)
    statement = (
        update(_reach)
        .where(_one(policy_id, enterprise_id), _stage_of(_reach.c.state) < STAGES[state])
        .values(state=state.value, confirmed_at=confirmed_at, updated_at=now)
    )
    return bool(getattr(session.execute(statement), "rowcount", 0))


def number_wrong(session: Session, policy_id: int, enterprise_id: int, *, now: datetime) -> bool:
    """A call found the firm's number wrong: what was sent before no longer counts, and a firm
    that has not acted is unreachable until a new message goes out. True when it changed."""
    _ensure(session, policy_id, enterprise_id, now)
    statement = (
        update(_reach)
        .where(_one(policy_id, enterprise_id), _reach.c.state.in_(list(FROM_DELIVERIES)))
        .values(state=ReachState.UNREACHABLE.value, stale_before=now, updated_at=now)
    )
    return bool(getattr(session.execute(statement), "rowcount", 0))


def set_question(
    session: Session, policy_id: int, enterprise_id: int, *, open_: bool, now: datetime
) -> None:
    """Mark the firm's question open (asked) or answered."""
    _ensure(session, policy_id, enterprise_id, now)
    statement = (
        update(_reach)
        .where(_one(policy_id, enterprise_id))
        .values(question_open=open_, updated_at=now)
    )
    session.execute(statement)


def get(session: Session, policy_id: int, enterprise_id: int) -> PolicyReach | None:
    """The firm's row for the policy, if kept."""
    return session.get(PolicyReach, (policy_id, enterprise_id))


@dataclass(frozen=True)
class Tally:
    """How many of a policy's firms in one region are in one state."""

    region: str
    state: str
    firms: int
    confirmed_before: int
    questions: int


def tally(
    session: Session, policy_id: int, *, before: datetime | None, scope: Scope = DISTRICT
) -> list[Tally]:
    """The policy's firms (those ``scope`` counts) per region and state; ``confirmed_before``
    counts those that confirmed (or said done) before ``before`` (none when it is None)."""
    early: Any = literal(0)
    if before is not None:
        early = func.sum(case((_reach.c.confirmed_at < before, 1), else_=0))
    questions = func.sum(case((_reach.c.question_open, 1), else_=0))
    query = (
        select(Enterprise.region, _reach.c.state, func.count(), early, questions)
        .join(Enterprise, Enterprise.id == _reach.c.enterprise_id)
        .where(_reach.c.policy_id == policy_id, counted_in(scope))
        .group_by(Enterprise.region, _reach.c.state)
    )
    return [
        Tally(region, state, int(firms), int(confirmed or 0), int(asked or 0))
        for region, state, firms, confirmed, asked in session.execute(query)
    ]


def of_policy(
    session: Session, policy_id: int, *, after: int = 0, limit: int = 1000,
    scope: Scope = DISTRICT,
) -> list[Any]:
    """A page of the policy's rows with the firm (id, name, credit code, region), by firm id
    after ``after``: the firms ``scope`` may see one by one."""  # fmt: skip
    query = (
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.credit_code,
            Enterprise.region,
            _reach.c.state,
            _reach.c.question_open,
            _reach.c.confirmed_at,
            _reach.c.updated_at,
        )  # fmt: skip
        .join(Enterprise, Enterprise.id == _reach.c.enterprise_id)
        .where(_reach.c.policy_id == policy_id, Enterprise.id > after, firms_in(scope))
        .order_by(Enterprise.id)
        .limit(limit)
    )
    return list(session.execute(query))


@dataclass(frozen=True)
class PolicyStanding:
    """One open policy's firms in a few figures, for the district's view."""

    policy_id: int
    title: str
    published_at: datetime
    firms: int
    opened: int
    confirmed: int
    unreachable: int
    questions: int


# The key the district query counts open questions under, beside the states.
_ASKED = "question_open"
_OPENED = frozenset(state for state, number in STAGES.items() if number >= ACTED)


def open_policies(
    session: Session, *, now: datetime, days: int, limit: int = 100, scope: Scope = DISTRICT
) -> list[PolicyStanding]:
    """Every policy followed (:func:`notifier.store.policies.followed`; the newest ``limit``),
    newest first, with its firms counted (opened or further on, confirmed or done,
    unreachable, questions open) over the stored states, as the clock last brought them up to
    date; only the policies and firms ``scope`` counts (:mod:`notifier.store.scope`).

    One grouped query for all of them: firms per policy and state (read from the
    ``(policy_id, state)`` index alone) and, beside them, the open questions per policy;
    a grouping of CASE sums over every row took about six times as long on SQLite."""
    listed = session.execute(
        select(Policy.id, Policy.title, Policy.published_at)
        .where(policies.followed(now=now, days=days), policies_in(scope))
        .order_by(Policy.published_at.desc(), Policy.id.desc())
        .limit(limit)
    ).all()
    ids = [row.id for row in listed]
    counts: dict[int, dict[str, int]] = {policy_id: {} for policy_id in ids}
    if ids:
        mine = and_(
            _reach.c.policy_id.in_(ids), owned_in(_reach.c.enterprise_id, scope, counting=True)
        )
        by_state = (
            select(_reach.c.policy_id, _reach.c.state, func.count())
            .where(mine)
            .group_by(_reach.c.policy_id, _reach.c.state)
        )
        asked = (
            select(_reach.c.policy_id, literal(_ASKED), func.count())
            .where(mine, _reach.c.question_open)
            .group_by(_reach.c.policy_id)
        )
        for policy_id, key, firms in session.execute(union_all(by_state, asked)):
            counts[policy_id][key] = int(firms)
    standings = []
    for policy_id, title, published_at in listed:
        of = counts[policy_id]
        standings.append(
            PolicyStanding(
                policy_id=policy_id,
                title=title,
                published_at=published_at,
                firms=sum(n for key, n in of.items() if key != _ASKED),
                opened=sum(n for key, n in of.items() if key in _OPENED),
                confirmed=sum(n for key, n in of.items() if key in CONFIRMING),
                unreachable=of.get(ReachState.UNREACHABLE.value, 0),
                questions=of.get(_ASKED, 0),
            )
        )
    return standings
