"""The clock: APScheduler runs jobs that only *find* due work and queue it.

The job list is here and nowhere else; each job takes its time from the context's clock. Each
job is idempotent (triggers are unique, deliveries are claimed once), so a catch-up run or a
second clock does no harm; the leader lock keeps a second clock from doing the same work twice
anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from notifier.jobs.context import JobContext
from notifier.jobs.leader import Leadership
from notifier.services.campaigns.operations import scan_due_campaigns
from notifier.services.deadlines.reminders import scan_due_reminders
from notifier.services.delivery.retention import purge
from notifier.services.delivery.sweeper import sweep
from notifier.services.policies.publishing import scan_published
from notifier.services.reach.ladder import scan_reach_ladders
from notifier.services.reach.states import refresh_open_policies

log = logging.getLogger(__name__)


def scan_published_policies(context: JobContext) -> Any:
    """Make the triggers of policies whose time has come."""
    return scan_published(
        context.sessions,
        context.dispatch,
        time_source=context.time_source,
        catch_up=timedelta(hours=context.settings.clock.catch_up_hours),
    )


def scan_deadline_reminders(context: JobContext) -> Any:
    """Make the triggers of the reminder rungs that fell due."""
    settings = context.settings
    return scan_due_reminders(
        context.sessions,
        context.dispatch,
        settings=settings.reminders,
        zone=settings.zone,
        catch_up=timedelta(hours=settings.clock.catch_up_hours),
        time_source=context.time_source,
    )


def sweep_lost_work(context: JobContext) -> Any:
    """Queue again what was lost on the way."""
    return sweep(
        context.sessions, context.dispatch, settings=context.settings.delivery,
        time_source=context.time_source
    )


def purge_old_deliveries(context: JobContext) -> Any:
    """Forget addresses and texts past the retention period."""
    settings = context.settings
    return purge(
        context.sessions,
        days=settings.retention.days,
        outbox_dir=settings.outbox_dir,
        time_source=context.time_source,
    )


def scan_campaign_runs(context: JobContext) -> Any:
    """Make the triggers of the campaign runs that fell due; finish campaigns that are done."""
    settings = context.settings
    return scan_due_campaigns(
        context.sessions,
        context.dispatch,
        catch_up=timedelta(hours=settings.clock.catch_up_hours),
        zone=settings.zone,
        time_source=context.time_source,
    )


def refresh_reach(context: JobContext) -> Any:
    """Read the open policies' reach states again from their deliveries."""
    return refresh_open_policies(
        context.sessions, now=context.time_source.now(), days=context.settings.reach.open_days
    )


def send_reach_ladders(context: JobContext) -> Any:
    """Re-send the open policies' due ladder rungs to the firms that have not opened them."""
    settings = context.settings
    return scan_reach_ladders(
        context.sessions,
        context.dispatch,
        default=settings.reach.ladder_working_days,
        open_days=settings.reach.open_days,
        zone=settings.zone,
        catch_up=timedelta(hours=settings.clock.catch_up_hours),
        time_source=context.time_source,
    )


# (job, name of its interval in ClockSettings); the job's name is its id.
JOBS: list[tuple[Callable[[JobContext], Any], str]] = [
    (scan_published_policies, "scan_interval_seconds"),
    (scan_deadline_reminders, "reminder_interval_seconds"),
    (sweep_lost_work, "sweep_interval_seconds"),
    (purge_old_deliveries, "purge_interval_seconds"),
    (scan_campaign_runs, "campaign_interval_seconds"),
    (refresh_reach, "reach_interval_seconds"),
    (send_reach_ladders, "reach_interval_seconds"),
]


def _guarded(
    context: JobContext, leadership: Leadership, job: Callable[[JobContext], Any]
) -> Callable[[], None]:
    def run() -> None:
        if not leadership.is_leader():
            return
        try:
            job(context)
        except Exception:  # one failed run must not stop the clock; the next run tries again
            log.exception("clock job %s failed", job.__name__)

    return run


def add_jobs(scheduler: BaseScheduler, context: JobContext) -> Leadership:
    """Add every clock job to ``scheduler``; return the leadership it consults."""
    leadership = Leadership(context.engine)
    for job, interval_setting in JOBS:
        seconds = getattr(context.settings.clock, interval_setting)
        scheduler.add_job(
            _guarded(context, leadership, job),
            "interval",
            seconds=seconds,
            id=job.__name__,
            name=job.__name__,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    return leadership


def run_clock(context: JobContext) -> None:
    """Run the clock in the foreground until interrupted."""
    scheduler = BlockingScheduler(timezone=context.settings.zone)
    leadership = add_jobs(scheduler, context)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        leadership.release()
