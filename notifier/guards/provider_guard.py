"""Building a process's provider guard: circuits and limits on Redis, or in this process.

With a Redis broker (or ``redis_url`` beside a RabbitMQ broker) every worker process shares
the circuits and limits through it; embedded, they live in the one process there is.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

from notifier.config import Settings
from notifier.guards.circuits import Circuits, MemoryCircuits, NoCircuits, RedisCircuits
from notifier.guards.provider_limits import Limits, NoLimits, ProviderLimits


@dataclass(frozen=True)
class ProviderGuard:
    """The circuits and limits a process holds for its providers."""

    circuits: Circuits
    limits: Limits


# For functions called without a runtime's guard (tests of one batch): no state, no limits.
NO_CIRCUITS = NoCircuits()
UNGUARDED = ProviderGuard(circuits=NO_CIRCUITS, limits=NoLimits())


def shared_redis_url(settings: Settings) -> str | None:
    """The Redis server the workers share, or None (embedded, or RabbitMQ alone)."""
    if settings.broker_kind == "redis":
        return settings.broker
    return settings.redis_url


def create_guard(settings: Settings) -> ProviderGuard:
    """Circuits and limits for this process, shared through Redis when there is one."""
    url = shared_redis_url(settings)
    namespace = settings.redis_namespace
    if url is None:
        return ProviderGuard(
            circuits=MemoryCircuits(settings.circuit),
            limits=ProviderLimits(StubBackend(), namespace=namespace),
        )
    client = redis.Redis.from_url(url)
    return ProviderGuard(
        circuits=RedisCircuits(client, namespace=namespace, settings=settings.circuit),
        limits=ProviderLimits(RedisBackend(client=client), namespace=namespace),
    )
