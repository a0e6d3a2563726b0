"""The clock: APScheduler runs jobs that only *find* due work and queue it.

The job list is here and nowhere else. Each job is idempotent (triggers are unique, deliveries
are claimed once), so a catch-up run or a second clock does no harm; the leader lock keeps a
second clock from doing the same work twice anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from notifier.jobs.leader import Leadership
from notifier.publishing import scan_published
from notifier.runtime import Runtime
from notifier.sweeper import sweep

log = logging.getLogger(__name__)

# (job id, function of the runtime, name of its interval in ClockSettings)
JOBS: list[tuple[str, Callable[[Runtime], Any], str]] = [
    ("scan_published_policies", scan_published, "scan_interval_seconds"),
    ("sweep_lost_work", sweep, "sweep_interval_seconds"),
]


def _guarded(runtime: Runtime, leadership: Leadership, name: str, job: Callable[[Runtime], Any]):
    def run() -> None:
        if not leadership.is_leader():
            return
        try:
            job(runtime)
        except Exception:  # one failed run must not stop the clock; the next run tries again
            log.exception("clock job %s failed", name)

    return run


def add_jobs(scheduler: BaseScheduler, runtime: Runtime) -> Leadership:
    """Add every clock job to ``scheduler``; return the leadership it consults."""
    leadership = Leadership(runtime.engine)
    for name, job, interval_setting in JOBS:
        seconds = getattr(runtime.settings.clock, interval_setting)
        scheduler.add_job(
            _guarded(runtime, leadership, name, job),
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    return leadership


def run_clock(runtime: Runtime) -> None:
    """Run the clock in the foreground until interrupted."""
    scheduler = BlockingScheduler(timezone=runtime.settings.zone)
    leadership = add_jobs(scheduler, runtime)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        leadership.release()
