"""Building a process's provider guard: circuits and limits on Redis, or in this process.

With a Redis broker (or ``redis_url`` beside a RabbitMQ broker) every worker process shares
the circuits and limits through it; embedded, they live in the one process there is.
"""

from __future__ import annotations

import redis
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

from notifier.circuits import MemoryCircuits, RedisCircuits
from notifier.config import Settings
from notifier.failover import ProviderGuard
from notifier.limits import ProviderLimits


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
