"""The reach ladder's queries: which firms a rung is for, on which channels they can still be
reached, and the marker that keeps a rung to one re-send per firm.

A firm is due on a rung when its reach state is below ``opened`` (targeted, sent, delivered
or unreachable: it has not opened, confirmed, said done or not applicable, nor asked) and no
``ladder:<working days>`` event is kept for it. A channel is open to it when it is subscribed
there with a contact and has not unsubscribed from everything; each open channel comes with
how many messages of the policy went on it already (to that address: a new number or a new
subscription counts as fresh), so the ladder can choose the one least tried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.domain.reach import ACTED, STAGES
from notifier.store import insert_ignoring_conflicts, table_of
from notifier.store.audience import on_subscribed_contacts
from notifier.store.models import (
    Contact,
    Delivery,
    Enterprise,
    PolicyReach,
    ReachEvent,
    ReachKind,
)

# The states a rung re-sends to: the firm has done nothing with the policy yet.
NOT_ACTED = tuple(state for state, stage in STAGES.items() if stage < ACTED)


def rung_key(working_days: int) -> str:
    """The reach event key that marks a firm's rung as re-sent (``ladder:2``)."""
    return f"{ReachKind.LADDER}:{working_days}"


@dataclass(frozen=True)
class OpenChannel:
    """A due firm, one channel it can be reached on, and how many messages of the policy
    went to it there already."""

    enterprise_id: int
    credit_code: str
    channel: str
    tried: int


def open_channels(session: Session, policy_id: int, working_days: int) -> list[OpenChannel]:
    """Every (due firm, channel still open to it) pair of the policy's rung, by firm."""
    columns: list[Any] = [Enterprise.id, Enterprise.credit_code, Contact.channel, Contact.address]
    reached = select(*columns).join(PolicyReach, PolicyReach.enterprise_id == Enterprise.id)
    candidates = (
        on_subscribed_contacts(reached)
        .where(
            PolicyReach.policy_id == policy_id,
            PolicyReach.state.in_(NOT_ACTED),
            Enterprise.unsubscribed_at.is_(None),
        )
        .order_by(Enterprise.id, Contact.id)
    )
    # The rung's markers and the policy's deliveries are read once each and matched here: a
    # correlated NOT EXISTS per candidate took seconds at 4,000 firms (a nested loop over
    # freshly inserted rows). A purged delivery ("" address, retention) counts as gone to
    # every address of its channel.
    marked = set(
        session.scalars(
            select(ReachEvent.enterprise_id).where(
                ReachEvent.policy_id == policy_id, ReachEvent.key == rung_key(working_days)
            )
        )
    )
    rows = [row for row in session.execute(candidates) if row[0] not in marked]
    if not rows:
        return []
    went: Counter[tuple[int, str, str]] = Counter()
    purged: Counter[tuple[int, str]] = Counter()
    sent = select(Delivery.enterprise_id, Delivery.channel, Delivery.address).where(
        Delivery.policy_id == policy_id
    )
    for enterprise_id, channel, address in session.execute(sent):
        went[(enterprise_id, channel, address)] += 1
        if not address:
            purged[(enterprise_id, channel)] += 1
    return [
        OpenChannel(
            enterprise_id,
            code,
            channel,
            went[(enterprise_id, channel, address)] + purged[(enterprise_id, channel)],
        )  # fmt: skip
        for enterprise_id, code, channel, address in rows
    ]


def mark(
    session: Session,
    policy_id: int,
    enterprise_ids: Sequence[int],
    *,
    working_days: int,
    detail: dict[str, str],
    at: datetime,
) -> None:
    """Keep the rung's ``ladder`` event for each firm (one per firm and rung, race-safe)."""
    if not enterprise_ids:
        return
    rows = [
        {
            "policy_id": policy_id,
            "enterprise_id": enterprise_id,
            "kind": ReachKind.LADDER.value,
            "key": rung_key(working_days),
            "detail": detail,
            "at": at,
        }
        for enterprise_id in enterprise_ids
    ]
    session.execute(insert_ignoring_conflicts(session, table_of(ReachEvent)), rows)
