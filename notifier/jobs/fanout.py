"""The ``fan_out`` actor: a trigger id in, delivery rows and queued batches out."""

from __future__ import annotations

from notifier import runtime
from notifier.fanout import fan_out as run_fan_out

OPTIONS = {"max_retries": 10, "min_backoff": 1_000, "max_backoff": 60_000, "time_limit": 3_600_000}


def fan_out(trigger_id: int) -> None:
    """Fan out one trigger. Idempotent: a redelivered message creates nothing twice."""
    current = runtime.current()
    run_fan_out(current, trigger_id, enqueue=current.queue.enqueue_deliveries)
