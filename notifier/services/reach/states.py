"""Keeping each policy's reach states up to date.

Page events and staff calls move a firm at once (:mod:`.events`, :mod:`.calls`); deliveries
and receipts move it as they are recorded (the sending and receipt code call the store). This
module brings a whole policy up to date: its rows made for every firm it is for once its
publication has fanned out, and the firms that have not acted read again from their
deliveries (the clock does it for the open policies, a report before it counts).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.domain.reach import ReachState
from notifier.store import policies as policy_store
from notifier.store import reach_states, triggers
from notifier.store.db import SessionFactory
from notifier.store.models import Policy, Trigger, TriggerStatus

log = logging.getLogger(__name__)


def bring_up_to_date(
    session: Session, policy: Policy, *, now: datetime, thorough: bool = True
) -> None:
    """Rows for every firm the policy is for (once its publication fanned out), and the
    states of those that have not acted read again from their deliveries.

    ``thorough=False`` is the clock's light pass: rows made only for a policy that has none
    (one published before reach was kept), and only the firms still ``targeted`` or
    ``unreachable`` read again (sends and receipts move the others as they are recorded; a
    send whose reach statement failed leaves its firm in one of these).
    """
    published = session.scalar(
        select(Trigger.status).where(Trigger.key == triggers.policy_published_key(policy.id))
    )
    live = published == TriggerStatus.DONE and policy.cancelled_at is None
    if live and (thorough or not reach_states.kept_for(session, policy.id)):
        reach_states.seed(session, policy.id, policy.targets, now=now)
    light = (ReachState.TARGETED.value, ReachState.UNREACHABLE.value)
    states = reach_states.FROM_DELIVERIES if thorough else light
    reach_states.refresh(session, now=now, policy_id=policy.id, states=states)


def refresh_open_policies(sessions: SessionFactory, *, now: datetime, days: int) -> int:
    """Bring up to date every policy published in the last ``days`` days and not withdrawn,
    one transaction each; return how many."""
    with sessions() as session:
        ids = list(
            session.scalars(
                select(Policy.id).where(policy_store.followed(now=now, days=days))
            )
        )
    for policy_id in ids:
        with sessions.begin() as session:
            policy = session.get(Policy, policy_id)
            if policy is not None:
                bring_up_to_date(session, policy, now=now, thorough=False)
    log.debug("reach states refreshed for %s policies", len(ids))
    return len(ids)
