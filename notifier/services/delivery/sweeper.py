"""Clock job: find work lost on the way (dead workers, lost messages) and queue it again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from notifier.config import DeliverySettings
from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.services.delivery.ports import Dispatch
from notifier.store import deliveries, triggers
from notifier.store.db import SessionFactory

log = logging.getLogger(__name__)

# At most this many batches are put back per sweep; the next sweep takes the rest.
SWEEP_BATCHES = 20


@dataclass(frozen=True)
class Swept:
    """What a sweep put back on the queue."""

    triggers: int
    deliveries: int


def sweep(
    sessions: SessionFactory,
    dispatch: Dispatch,
    *,
    settings: DeliverySettings,
    time_source: TimeSource = SYSTEM_TIME,
) -> Swept:
    """Re-queue stalled fan-outs and stuck deliveries. Safe to run at any time, from any clock:
    a delivery is claimed by one worker only, so a needless re-queue sends nothing twice."""
    stuck_after = timedelta(seconds=settings.stuck_after_seconds)
    now = time_source.now()
    with sessions.begin() as session:
        trigger_ids = triggers.unfinished(session, now=now, quiet_for=stuck_after)
        delivery_ids = deliveries.sweep(
            session,
            now=now,
            stuck_after=stuck_after,
            max_attempts=settings.max_attempts,
            limit=settings.batch_size * SWEEP_BATCHES,
        )
    for trigger_id in trigger_ids:
        dispatch.fan_out(trigger_id)
    for start in range(0, len(delivery_ids), settings.batch_size):
        dispatch.deliveries(delivery_ids[start : start + settings.batch_size])
    if trigger_ids or delivery_ids:
        log.warning(
            "sweep re-queued %s triggers, %s deliveries", len(trigger_ids), len(delivery_ids)
        )
    return Swept(triggers=len(trigger_ids), deliveries=len(delivery_ids))
