"""Follow a trigger's deliveries to the end, with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from notifier.errors import NotifierError
from notifier.store import campaigns, deliveries, triggers
from notifier.store.db import SessionFactory
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import DeliveryStatus, TriggerStatus

IN_FLIGHT = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


def count_of(counts: Mapping[str, int], statuses: Iterable[str]) -> int:
    """How many deliveries ``counts`` (per status) has in any of ``statuses``."""
    return sum(counts.get(status, 0) for status in statuses)


@dataclass(frozen=True)
class Snapshot:
    """Where a trigger's deliveries stand."""

    fanned_out: bool
    started: bool
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def in_flight(self) -> int:
        return count_of(self.counts, IN_FLIGHT)

    @property
    def finished(self) -> bool:
        """Fanned out, and nothing left to send now (deferred retries come later)."""
        return self.fanned_out and self.in_flight == 0


class NoWorker(NotifierError):
    """Nothing took the queued work within the time given: no worker is consuming."""


def snapshot(sessions: SessionFactory, trigger_id: int) -> Snapshot:
    """Read the trigger's state and its deliveries' status counts."""
    with sessions() as session:
        trigger = triggers.get(session, trigger_id)
        # A failed trigger is as far as it will go.
        done = trigger is not None and trigger.status in (TriggerStatus.DONE, TriggerStatus.FAILED)
        started = trigger is not None and trigger.status != TriggerStatus.PENDING
        counts = deliveries.status_counts(session, DeliveryFilter(trigger_id=trigger_id))
    return Snapshot(fanned_out=done, started=started, counts=counts)


def _moved(state: Snapshot) -> bool:
    return state.started or any(
        status not in (DeliveryStatus.PENDING, DeliveryStatus.QUEUED) for status in state.counts
    )


def follow(
    sessions: SessionFactory,
    trigger_id: int,
    *,
    show: bool = True,
    poll: float = 0.2,
    timeout: float | None = None,
    idle_limit: float | None = None,
) -> Snapshot:
    """Wait until the trigger's deliveries are all sent, failed or deferred; return the last state.

    Raises:
        TimeoutError: ``timeout`` seconds passed first.
        NoWorker: after ``idle_limit`` seconds no worker had started on the trigger.
    """
    began = time.monotonic()
    columns = (TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not show, transient=False) as progress:
        task = progress.add_task("deliver", total=None)
        while True:
            state = snapshot(sessions, trigger_id)
            progress.update(
                task, total=state.total or None, completed=state.total - state.in_flight
            )
            if state.finished:
                return state
            waited = time.monotonic() - began
            if idle_limit is not None and waited > idle_limit and not _moved(state):
                raise NoWorker(
                    f"no worker took trigger {trigger_id} within {idle_limit:.0f} s; "
                    "is `notifier worker` running? The work stays queued for when one starts"
                )
            if timeout is not None and waited > timeout:
                raise TimeoutError(f"trigger {trigger_id} still has {state.in_flight} in flight")
            time.sleep(poll)


# Sends over this many recent minutes make the rate; the ETA divides what is left by it.
RATE_WINDOW_MINUTES = 5
_LEFT = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING,
         DeliveryStatus.DEFERRED)


@dataclass(frozen=True)
class RunProgress:
    """One run (trigger) of a campaign: status counts, sends a minute lately, time left."""

    trigger_id: int
    due_at: datetime
    status: str
    counts: dict[str, int]
    rate_per_minute: float
    eta_seconds: float | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def left(self) -> int:
        """Deliveries not yet sent, failed, suppressed or cancelled (deferred included)."""
        return count_of(self.counts, _LEFT)

    @property
    def running(self) -> bool:
        """Still being fanned out, or deliveries left that are not held by a pause."""
        return self.status in (TriggerStatus.PENDING, TriggerStatus.RUNNING) or self.left > 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return {
            "trigger_id": self.trigger_id,
            "due_at": self.due_at.isoformat(),
            "status": self.status,
            "counts": self.counts,
            "total": self.total,
            "left": self.left,
            "rate_per_minute": round(self.rate_per_minute, 1),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds),
        }


def rate_and_eta(sent_lately: int, left: int, *, minutes: float) -> tuple[float, float | None]:
    """Sends a minute over the window, and seconds until ``left`` are done at that rate."""
    rate = sent_lately / minutes
    return rate, (left / rate * 60 if rate and left else (0.0 if not left else None))


def campaign_runs(
    sessions: SessionFactory, campaign_id: int, *, now: datetime
) -> list[RunProgress]:
    """Every run of the campaign, oldest first, with its progress."""
    since = now - timedelta(minutes=RATE_WINDOW_MINUTES)
    with sessions() as session:
        runs = campaigns.runs(session, [campaign_id])
        counts = campaigns.run_counts(session, campaign_id)
        result = []
        for run in runs:
            mine = counts.get(run.id, {})
            lately = campaigns.sent_since(session, [run.id], since)
            left = count_of(mine, _LEFT)
            rate, eta = rate_and_eta(lately, left, minutes=RATE_WINDOW_MINUTES)
            result.append(RunProgress(run.id, run.due_at, run.status, mine, rate, eta))
    return result


def _describe(run: RunProgress) -> str:
    eta = "?" if run.eta_seconds is None else f"{run.eta_seconds:.0f}s"
    return f"run {run.trigger_id}: {run.rate_per_minute:.0f}/min, ETA 预计 {eta}"


def watch_campaign(
    sessions: SessionFactory,
    campaign_id: int,
    *,
    now: Callable[[], datetime],
    interval: float = 1.0,
    show: bool = True,
) -> RunProgress | None:
    """Show a live progress bar of the campaign's current run until it ends; return its last
    state (None: nothing was running)."""
    current = current_run(campaign_runs(sessions, campaign_id, now=now()))
    if current is None:
        return None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, disable=not show, transient=False) as progress:
        task = progress.add_task(_describe(current), total=current.total or None)
        while True:
            run = next(
                r for r in campaign_runs(sessions, campaign_id, now=now())
                if r.trigger_id == current.trigger_id
            )
            progress.update(task, description=_describe(run), total=run.total or None,
                            completed=run.total - run.left)
            if not run.running or _held_only(sessions, campaign_id):
                return run
            time.sleep(interval)


def current_run(runs: list[RunProgress]) -> RunProgress | None:
    """The newest run still going, or None."""
    running = [run for run in runs if run.running]
    return running[-1] if running else None


def _held_only(sessions: SessionFactory, campaign_id: int) -> bool:
    # A paused or cancelled campaign will not move until staff act: stop watching.
    with sessions() as session:
        return bool(campaigns.halted(session, [campaign_id]))
