"""Follow a trigger's deliveries to the end, with a progress bar."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from notifier.db import SessionFactory
from notifier.errors import NotifierError
from notifier.models import DeliveryStatus, TriggerStatus
from notifier.store import deliveries, triggers
from notifier.store.deliveries import DeliveryFilter

IN_FLIGHT = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


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
        return sum(self.counts.get(status, 0) for status in IN_FLIGHT)

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
