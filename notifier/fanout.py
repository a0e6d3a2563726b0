"""Fan-out: turn one trigger into delivery rows, then queue them in batches of ids."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from notifier.models import Trigger, TriggerStatus
from notifier.models.base import utcnow
from notifier.runtime import Runtime
from notifier.store import audience as audiences
from notifier.store import deliveries, triggers
from notifier.targets import Targets

log = logging.getLogger(__name__)

Enqueue = Callable[[Sequence[int]], None]


def audience_of(trigger: Trigger) -> Targets:
    """Whom the trigger reaches."""
    if trigger.policy is None:
        raise ValueError(f"trigger {trigger.id} has no policy")
    return trigger.policy.targets


def queue_all_pending(runtime: Runtime, trigger_id: int, enqueue: Enqueue) -> None:
    """Queue the trigger's pending deliveries, a batch of ids per message."""
    batch = runtime.settings.delivery.batch_size
    while True:
        with runtime.sessions.begin() as session:
            ids = deliveries.queue_pending(session, trigger_id, limit=batch, now=utcnow())
        if not ids:
            return
        # Committed first: a lost message leaves rows `queued`, which the sweeper recovers.
        enqueue(ids)


def _insert_page(
    runtime: Runtime, trigger_id: int, audience: Targets, after: tuple[int, int] | None
) -> tuple[int, int] | None:
    """Insert one page of deliveries; return the key of the next page, None at the end."""
    size = runtime.settings.delivery.fan_out_chunk
    with runtime.sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        assert trigger is not None
        recipients = audiences.page(session, audience, after=after, size=size)
        deliveries.insert_for_recipients(session, trigger, recipients)
        triggers.beat(session, trigger, now=utcnow())
    return audiences.next_key(recipients) if len(recipients) == size else None


def fan_out(runtime: Runtime, trigger_id: int, *, enqueue: Enqueue) -> int:
    """Create the trigger's deliveries (idempotent) and queue them.

    Running it twice, or concurrently, creates no second delivery and queues none twice.

    Returns:
        How many deliveries the trigger has.
    """
    with runtime.sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        if trigger is None:
            log.warning("fan-out: trigger %s does not exist", trigger_id)
            return 0
        triggers.start(session, trigger, now=utcnow())
        audience = audience_of(trigger)
    after: tuple[int, int] | None = None
    while True:
        after = _insert_page(runtime, trigger_id, audience, after)
        # Queue as we go, so sending starts before a large fan-out ends.
        queue_all_pending(runtime, trigger_id, enqueue)
        if after is None:
            break
    with runtime.sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        assert trigger is not None
        total = deliveries.count_for_trigger(session, trigger_id)
        if trigger.status != TriggerStatus.DONE:
            triggers.finish(session, trigger, recipients=total, now=utcnow())
    log.info("fan-out of trigger %s: %s deliveries", trigger_id, total)
    return total
