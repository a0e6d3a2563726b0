"""The ``fan_out`` actor: a trigger id in, delivery rows and queued batches out."""

from __future__ import annotations

from collections.abc import Callable

from notifier.jobs.context import JobContext
from notifier.services.delivery.fanout import fan_out as run_fan_out

OPTIONS = {"max_retries": 10, "min_backoff": 1_000, "max_backoff": 60_000, "time_limit": 3_600_000}


def make_fan_out(context: JobContext) -> Callable[[int], None]:
    """The actor function, closed over its process's context."""

    def fan_out(trigger_id: int) -> None:
        """Fan out one trigger. Idempotent: a redelivered message creates nothing twice."""
        run_fan_out(
            context.sessions, context.dispatch, trigger_id, settings=context.settings.delivery
        )

    return fan_out
