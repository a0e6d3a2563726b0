"""The ``deliver`` actor: a batch of delivery ids in, messages sent and recorded."""

from __future__ import annotations

from notifier import runtime
from notifier.sending import deliver_batch

OPTIONS = {"max_retries": 5, "min_backoff": 1_000, "max_backoff": 60_000, "time_limit": 600_000}


def deliver(delivery_ids: list[int]) -> None:
    """Send the batch; deliveries that failed for a passing reason come back later alone."""
    current = runtime.current()
    for retry in deliver_batch(current, delivery_ids):
        current.queue.enqueue_deliveries([retry.delivery_id], delay=retry.delay)
