"""The ``deliver`` actor: a batch of delivery ids in, messages sent and recorded."""

from __future__ import annotations

from notifier import runtime
from notifier.sending import deliver_batch

# A backstop well above delivery.batch_seconds plus one send's timeouts: the batch ends itself.
OPTIONS = {"max_retries": 5, "min_backoff": 1_000, "max_backoff": 60_000, "time_limit": 1_800_000}


def deliver(delivery_ids: list[int]) -> None:
    """Send the batch; what it had no time for goes back as one batch, retries come back alone."""
    current = runtime.current()
    retries = deliver_batch(current, delivery_ids)
    unstarted = [retry.delivery_id for retry in retries if retry.delay == 0]
    if unstarted:
        current.queue.enqueue_deliveries(unstarted)
    for retry in retries:
        if retry.delay > 0:
            current.queue.enqueue_deliveries([retry.delivery_id], delay=retry.delay)
