"""Throttle: spread a campaign's delivery batches over time, at most N deliveries a minute.

The spreading is done when the batches are queued (``Dispatch.deliveries(ids, delay=)``), not by
a shared counter at send time: the broker holds each batch until its moment, so the rate holds
however many workers consume, and no worker waits holding a claim. Batches are of
``ceil(N / 60)`` deliveries, one every ``60 * size / N`` seconds. What it does not bound: a
backlog (workers busier than the schedule) sends the late batches as soon as it can, and
retries of failed sends and the sweeper's re-queues are not spread.

A batch queued for later has its deliveries' ``queued_at`` set to its moment, so the sweeper
does not take a batch waiting for its turn for a lost one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from notifier.services.delivery.ports import Dispatch
from notifier.store import deliveries
from notifier.store.db import SessionFactory
from notifier.store.models.base import utcnow


@dataclass
class Pace:
    """Queues delivery ids in batches; with ``per_minute``, each batch at its own delay."""

    sessions: SessionFactory
    batch_size: int
    per_minute: int | None = None
    queued: int = 0  # ids queued so far: the next batch's place in the schedule

    @property
    def size(self) -> int:
        """Ids per queued message."""
        if not self.per_minute:
            return self.batch_size
        return max(1, min(self.batch_size, math.ceil(self.per_minute / 60)))

    def delay(self) -> float | None:
        """Seconds until the next batch may go (None: at once)."""
        if not self.per_minute or self.queued == 0:
            return None
        return self.queued * 60.0 / self.per_minute

    def dispatch(self, dispatch: Dispatch, ids: Sequence[int]) -> None:
        """Queue ``ids`` (committed already), a batch per message, each at its moment."""
        size = self.size
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            delay = self.delay()
            if delay:
                with self.sessions.begin() as session:
                    later = utcnow() + timedelta(seconds=delay)
                    deliveries.queued_for(session, batch, at=later)
            dispatch.deliveries(batch, delay=delay)
            self.queued += len(batch)
