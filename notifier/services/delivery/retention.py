"""Retention: forget recipient addresses and message texts once they have served their purpose.

Finished deliveries older than ``retention.days`` keep their status, channel, provider and
times (so counts and reports hold) and lose their address and error texts; the dry-run outbox
files of that age, which hold whole messages, are deleted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.store import deliveries, reach
from notifier.store.db import SessionFactory

log = logging.getLogger(__name__)

# Deliveries purged per transaction, so a large backlog never holds one long lock.
PURGE_CHUNK = 5_000


@dataclass(frozen=True)
class Purged:
    """What a purge removed."""

    deliveries: int
    outbox_files: int
    reach_events: int = 0


def _purge_outbox(outbox_dir: Path, older_than: float) -> int:
    removed = 0
    if not outbox_dir.is_dir():
        return 0
    for path in outbox_dir.glob("*/*.json"):
        try:
            if path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another purge took it
            continue
    return removed


def purge(
    sessions: SessionFactory,
    *,
    days: int,
    outbox_dir: Path | None = None,
    time_source: TimeSource = SYSTEM_TIME,
) -> Purged:
    """Purge what is older than ``days`` days; safe to run at any time, from any process."""
    now = time_source.now()
    before = now - timedelta(days=days)
    total = 0
    while True:
        with sessions.begin() as session:
            done = deliveries.purge(session, finished_before=before, now=now, limit=PURGE_CHUNK)
        total += done
        if done < PURGE_CHUNK:
            break
    files = _purge_outbox(outbox_dir, time.time() - days * 86_400) if outbox_dir else 0
    # What firms did on their pages (questions and call-back numbers among it) and staff calls
    # go too; each firm's reach state stays, so reports keep their counts.
    events = 0
    while True:
        with sessions.begin() as session:
            done = reach.purge(session, before=before, limit=PURGE_CHUNK)
        events += done
        if done < PURGE_CHUNK:
            break
    if total or files or events:
        log.info(
            "purged %s deliveries, %s outbox files and %s reach events older than %s days",
            total, files, events, days,
        )  # fmt: skip
    return Purged(deliveries=total, outbox_files=files, reach_events=events)
