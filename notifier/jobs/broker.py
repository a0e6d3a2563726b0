"""The broker: Redis or RabbitMQ as ``NOTIFIER_BROKER_URL`` (or ``NOTIFIER_REDIS_URL``) names,
an in-process one when neither is set.

Actors are declared on the broker when a process builds it, closed over that process's
context, so nothing connects to anything at import and no process-wide broker is set.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import BrokerConnectionError

from notifier.config import Settings
from notifier.errors import BrokerUnavailable
from notifier.jobs import deliver_actor as deliver
from notifier.jobs import fan_out_actor as fanout
from notifier.jobs.context import JobContext
from notifier.jobs.queues import DELIVER_ACTOR, DELIVER_QUEUE, FAN_OUT_ACTOR, FAN_OUT_QUEUE

log = logging.getLogger(__name__)


def _unreachable() -> tuple[type[BaseException], ...]:
    """What the brokers' clients raise when the server cannot be reached (dramatiq's RabbitMQ
    broker wraps pika's errors in its own after retrying). A client's errors are listed once
    it is imported (only the configured broker's is: importing both cost every command)."""
    errors: list[type[BaseException]] = [BrokerConnectionError, OSError]
    if "redis" in sys.modules:
        import redis

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    if "pika" in sys.modules:
        import pika.exceptions

        errors.append(pika.exceptions.AMQPConnectionError)
    return tuple(errors)


@contextmanager
def _reaching(settings: Settings) -> Iterator[None]:
    try:
        yield
    except _unreachable() as exc:
        raise BrokerUnavailable(
            f"cannot reach the broker at {settings.broker_setting} ({_shown(settings.broker)}): "
            f"{_reason(exc)}"
        ) from None


def _reason(exc: BaseException) -> str:
    """The first line of the error; pika's often say nothing and carry the cause inside."""
    text = str(exc).strip()
    if text:
        return text.splitlines()[0]
    inner = exc.args[0] if exc.args else getattr(exc, "exception", None)
    return _reason(inner) if isinstance(inner, BaseException) else type(exc).__name__


def _shown(url: str | None) -> str:
    """The broker URL without its password."""
    if not url:
        return "unset"
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{'***@' if at else ''}{host}"


@dataclass
class Queue:
    """The broker and the actors declared on it: the process's
    :class:`~notifier.services.delivery.ports.Dispatch`."""

    settings: Settings
    broker: dramatiq.Broker
    fan_out_actor: dramatiq.Actor[..., None]
    deliver_actor: dramatiq.Actor[..., None]

    @property
    def embedded(self) -> bool:
        """True when messages stay in this process."""
        return isinstance(self.broker, StubBroker)

    def fan_out(self, trigger_id: int) -> None:
        """Queue the fan-out of a trigger.

        Raises:
            BrokerUnavailable: the broker cannot be reached.
        """
        with _reaching(self.settings):
            self.fan_out_actor.send(trigger_id)

    def deliveries(self, delivery_ids: Sequence[int], *, delay: float | None = None) -> None:
        """Queue one batch of delivery ids, optionally after ``delay`` seconds.

        Raises:
            BrokerUnavailable: the broker cannot be reached.
        """
        milliseconds = int(delay * 1000) if delay else None
        with _reaching(self.settings):
            self.deliver_actor.send_with_options(args=(list(delivery_ids),), delay=milliseconds)

    def check(self) -> None:
        """Make sure the broker answers.

        Raises:
            BrokerUnavailable: it does not; the message names the setting.
        """
        client = getattr(self.broker, "client", None)
        with _reaching(self.settings):
            if client is not None:  # Redis
                client.ping()
            elif not self.embedded:
                from dramatiq.brokers.rabbitmq import RabbitmqBroker  # loaded: it made the broker

                if isinstance(self.broker, RabbitmqBroker):
                    self.broker.connection.process_data_events(time_limit=0)  # opens it: a ping

    def close(self) -> None:
        """Close the broker's connections."""
        self.broker.close()


def create_broker(settings: Settings) -> dramatiq.Broker:
    """A Redis or RabbitMQ broker, or the in-process stub broker when none is configured."""
    url = settings.broker
    if url is None:
        broker: dramatiq.Broker = StubBroker()
        broker.emit_after("process_boot")
        return broker
    if settings.broker_kind == "rabbitmq":
        # pika logs each failed connection attempt as several errors with a traceback; the
        # failure reaches us as an exception all the same, reported once (BrokerUnavailable, or
        # the worker's consumer's own line) and retried.
        logging.getLogger("pika").setLevel(logging.CRITICAL)
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Publisher confirms: a send returns once RabbitMQ has the message, as Redis's does.
        return RabbitmqBroker(url=url, confirm_delivery=True)
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(url=url, namespace=settings.redis_namespace)


def _declare(
    broker: dramatiq.Broker, fn: Callable[..., None], name: str, queue: str, options: dict[str, Any]
) -> dramatiq.Actor[..., None]:
    return dramatiq.Actor(
        fn, broker=broker, actor_name=name, queue_name=queue, priority=0, options=dict(options)
    )


def create_queue(context: JobContext) -> Queue:
    """Build the broker and declare the actors on it, closed over ``context``."""
    broker = create_broker(context.settings)
    return Queue(
        settings=context.settings,
        broker=broker,
        fan_out_actor=_declare(
            broker, fanout.make_fan_out(context), FAN_OUT_ACTOR, FAN_OUT_QUEUE, fanout.OPTIONS
        ),
        deliver_actor=_declare(
            broker, deliver.make_deliver(context), DELIVER_ACTOR, DELIVER_QUEUE, deliver.OPTIONS
        ),
    )
