"""The follow-up list's queries: which firms of which policies staff should call, and what was
tried with each (its contacts, the policy's deliveries to it, the calls and questions kept).

A firm is due a follow-up on a policy when it is unreachable, has a question open, or (once
the policy's window has passed) has not yet opened the policy's page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, or_, select, tuple_
from sqlalchemy.orm import Session

from notifier.domain.reach import ReachState
from notifier.domain.scope import DISTRICT, Scope
from notifier.store import policies
from notifier.store.audience import in_regions
from notifier.store.models import (
    Contact,
    Delivery,
    Enterprise,
    Policy,
    PolicyReach,
    ReachEvent,
)
from notifier.store.paging import count
from notifier.store.scope import firms_in

# The states of a firm that has not opened the page yet (read from its deliveries).
NOT_OPENED = (ReachState.TARGETED, ReachState.SENT, ReachState.DELIVERED)


def _due(window_passed: Collection[int]) -> ColumnElement[bool]:
    """Unreachable, a question open, or not opened once its policy's window has passed."""
    due: list[ColumnElement[bool]] = [
        PolicyReach.state == ReachState.UNREACHABLE.value,
        PolicyReach.question_open.is_(True),
    ]
    if window_passed:
        due.append(
            and_(
                PolicyReach.policy_id.in_(list(window_passed)),
                PolicyReach.state.in_([s.value for s in NOT_OPENED]),
            )
        )
    return or_(*due)


def due_query(
    policy_order: Sequence[int],
    window_passed: Collection[int],
    community: str | None,
    scope: Scope = DISTRICT,
) -> Select[int, int, str, str, str, str, bool]:
    """The firms due a follow-up on the policies of ``policy_order`` (in that order of the
    policies, then by firm name), in ``scope``, and in ``community`` or below it when given:
    rows of (policy id, firm id, name, credit code, region, state, question open)."""
    rank = case(
        *((PolicyReach.policy_id == pid, number) for number, pid in enumerate(policy_order)),
        else_=len(policy_order),
    )
    query = (
        select(
            PolicyReach.policy_id,
            Enterprise.id,
            Enterprise.name,
            Enterprise.credit_code,
            Enterprise.region,
            PolicyReach.state,
            PolicyReach.question_open,
        )
        .join(Enterprise, Enterprise.id == PolicyReach.enterprise_id)
        .where(
            PolicyReach.policy_id.in_(list(policy_order)), _due(window_passed), firms_in(scope)
        )
        .order_by(rank, Enterprise.name, Enterprise.id)
    )
    if community is not None:
        query = query.where(in_regions([community]))
    return query


def due_count(session: Session, query: Select[int, int, str, str, str, str, bool]) -> int:
    """How many items :func:`due_query` ``query`` gives."""
    return count(session, query.with_only_columns(PolicyReach.policy_id))


def contacts(session: Session, enterprise_ids: Collection[int]) -> dict[int, list[Contact]]:
    """The contacts of each firm, by channel then address."""
    found: dict[int, list[Contact]] = defaultdict(list)
    if enterprise_ids:
        query = (
            select(Contact)
            .where(Contact.enterprise_id.in_(list(enterprise_ids)))
            .order_by(Contact.channel, Contact.address)
        )
        for contact in session.scalars(query):
            found[contact.enterprise_id].append(contact)
    return found


Pairs = Collection[tuple[int, int]]


def deliveries(session: Session, pairs: Pairs) -> dict[tuple[int, int], list[Delivery]]:
    """Each (policy, firm) pair's deliveries, oldest first."""
    found: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
    if pairs:
        query = (
            select(Delivery)
            .where(tuple_(Delivery.policy_id, Delivery.enterprise_id).in_(list(pairs)))
            .order_by(Delivery.created_at, Delivery.id)
        )
        for delivery in session.scalars(query):
            assert delivery.policy_id is not None  # matched by its policy
            found[(delivery.policy_id, delivery.enterprise_id)].append(delivery)
    return found


def events(
    session: Session, pairs: Pairs, kinds: Sequence[str]
) -> dict[tuple[int, int], list[ReachEvent]]:
    """Each (policy, firm) pair's reach events of ``kinds``, oldest first."""
    found: dict[tuple[int, int], list[ReachEvent]] = defaultdict(list)
    if pairs:
        query = (
            select(ReachEvent)
            .where(
                tuple_(ReachEvent.policy_id, ReachEvent.enterprise_id).in_(list(pairs)),
                ReachEvent.kind.in_(list(kinds)),
            )
            .order_by(ReachEvent.at, ReachEvent.id)
        )
        for event in session.scalars(query):
            found[(event.policy_id, event.enterprise_id)].append(event)
    return found


def open_policies(
    session: Session, *, now: datetime, days: int, policy_id: int | None = None
) -> list[Policy]:
    """The policies followed: published in the last ``days`` days and not withdrawn (only
    ``policy_id`` when given), by id."""
    query = select(Policy).where(policies.followed(now=now, days=days))
    if policy_id is not None:
        query = query.where(Policy.id == policy_id)
    return list(session.scalars(query.order_by(Policy.id)))
