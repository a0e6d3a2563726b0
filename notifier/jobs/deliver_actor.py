"""The ``deliver`` actor: a batch of delivery ids in, messages sent and recorded."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from notifier.domain.number_caps import NumberCaps
from notifier.domain.quiet_hours import QuietHours
from notifier.jobs.context import JobContext
from notifier.services.delivery.sending import deliver_batch

log = logging.getLogger(__name__)

# A backstop well above delivery.batch_seconds plus one send's timeouts: the batch ends itself.
OPTIONS = {"max_retries": 5, "min_backoff": 1_000, "max_backoff": 60_000, "time_limit": 1_800_000}


def make_deliver(context: JobContext) -> Callable[[list[int]], None]:
    """The actor function, closed over its process's context."""

    def deliver(delivery_ids: list[int]) -> None:
        """Send the batch; what it had no time for goes back as one batch, retries alone."""
        retries = deliver_batch(
            context.sessions,
            delivery_ids,
            providers=context.providers,
            messages=context.messages,
            settings=context.settings.delivery,
            time_source=context.time_source,
            quiet=QuietHours.from_settings(context.settings),
            caps=NumberCaps.from_settings(context.settings),
            guard=context.guard,
        )
        unstarted = [retry.delivery_id for retry in retries if retry.delay == 0]
        if unstarted:
            context.dispatch.deliveries(unstarted)
        for retry in retries:
            if retry.delay > 0:
                context.dispatch.deliveries([retry.delivery_id], delay=retry.delay)
        # The process id tells which of a machine's worker processes took the batch.
        log.info(
            "batch of %d deliveries done in process %d (%d handed back)",
            len(delivery_ids),
            os.getpid(),
            len(retries),
        )

    return deliver
