"""The broker: Redis when ``NOTIFIER_REDIS_URL`` is set, an in-process one otherwise.

Actors are declared on the broker when it is built, not at import, so nothing connects to
anything until a process starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.stub import StubBroker

from notifier.config import Settings
from notifier.jobs import deliver, fanout
from notifier.jobs.queues import DELIVER_QUEUE, FAN_OUT_QUEUE

log = logging.getLogger(__name__)


@dataclass
class Queue:
    """The broker and the actors declared on it; the one way the rest of notifier enqueues."""

    broker: dramatiq.Broker
    fan_out: dramatiq.Actor
    deliver: dramatiq.Actor

    @property
    def embedded(self) -> bool:
        """True when messages stay in this process."""
        return isinstance(self.broker, StubBroker)

    def enqueue_fan_out(self, trigger_id: int) -> None:
        """Queue the fan-out of a trigger."""
        self.fan_out.send(trigger_id)

    def enqueue_deliveries(
        self, delivery_ids: Sequence[int], *, delay: float | None = None
    ) -> None:
        """Queue one batch of delivery ids, optionally after ``delay`` seconds."""
        milliseconds = int(delay * 1000) if delay else None
        self.deliver.send_with_options(args=(list(delivery_ids),), delay=milliseconds)

    def close(self) -> None:
        """Close the broker's connections."""
        self.broker.close()


def create_broker(settings: Settings) -> dramatiq.Broker:
    """A Redis broker, or the in-process stub broker when no Redis is configured."""
    if settings.redis_url is None:
        broker: dramatiq.Broker = StubBroker()
        broker.emit_after("process_boot")
        return broker
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(url=settings.redis_url, namespace=settings.redis_namespace)


def _declare(
    broker: dramatiq.Broker, fn: Callable[..., None], queue: str, options: dict
) -> dramatiq.Actor:
    return dramatiq.Actor(
        fn,
        broker=broker,
        actor_name=fn.__name__,
        queue_name=queue,
        priority=0,
        options=dict(options),
    )


def create_queue(settings: Settings) -> Queue:
    """Build the broker and declare the actors on it."""
    broker = create_broker(settings)
    dramatiq.set_broker(broker)
    return Queue(
        broker=broker,
        fan_out=_declare(broker, fanout.fan_out, FAN_OUT_QUEUE, fanout.OPTIONS),
        deliver=_declare(broker, deliver.deliver, DELIVER_QUEUE, deliver.OPTIONS),
    )
