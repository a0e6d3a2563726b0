"""Follow a trigger's deliveries to the end, with a progress bar."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from notifier.models import DeliveryStatus, TriggerStatus
from notifier.runtime import Runtime
from notifier.store import deliveries, triggers
from notifier.store.deliveries import DeliveryFilter

IN_FLIGHT = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


@dataclass(frozen=True)
class Snapshot:
    """Where a trigger's deliveries stand."""

    fanned_out: bool
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


def snapshot(runtime: Runtime, trigger_id: int) -> Snapshot:
    """Read the trigger's state and its deliveries' status counts."""
    with runtime.sessions() as session:
        trigger = triggers.get(session, trigger_id)
        done = trigger is not None and trigger.status == TriggerStatus.DONE
        counts = deliveries.status_counts(session, DeliveryFilter(trigger_id=trigger_id))
    return Snapshot(fanned_out=done, counts=counts)


def follow(
    runtime: Runtime,
    trigger_id: int,
    *,
    show: bool = True,
    poll: float = 0.2,
    timeout: float | None = None,
) -> Snapshot:
    """Wait until the trigger's deliveries are all sent, failed or deferred; return the last state.

    Raises:
        TimeoutError: ``timeout`` seconds passed first.
    """
    started = time.monotonic()
    columns = (TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not show, transient=False) as progress:
        task = progress.add_task("deliver", total=None)
        while True:
            state = snapshot(runtime, trigger_id)
            progress.update(
                task, total=state.total or None, completed=state.total - state.in_flight
            )
            if state.finished:
                return state
            if timeout is not None and time.monotonic() - started > timeout:
                raise TimeoutError(f"trigger {trigger_id} still has {state.in_flight} in flight")
            time.sleep(poll)
