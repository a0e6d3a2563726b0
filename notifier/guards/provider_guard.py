"""Building a process's provider guard: circuits and limits on Redis, or in this process.

With a Redis broker (or ``redis_url`` beside a RabbitMQ broker) every worker process shares
the circuits and limits through it; embedded, they live in the one process there is.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.config import Settings
from notifier.guards.backends import backend_for, rate_limiter_backend, shared_redis_url
from notifier.guards.circuits import Circuits, NoCircuits, ProviderCircuits
from notifier.guards.provider_limits import Limits, NoLimits, ProviderLimits


@dataclass(frozen=True)
class ProviderGuard:
    """The circuits and limits a process holds for its providers."""

    circuits: Circuits
    limits: Limits


# For functions called without a runtime's guard (tests of one batch): no state, no limits.
NO_CIRCUITS = NoCircuits()
UNGUARDED = ProviderGuard(circuits=NO_CIRCUITS, limits=NoLimits())


def create_guard(settings: Settings) -> ProviderGuard:
    """Circuits and limits for this process, shared through Redis when there is one."""
    return ProviderGuard(
        circuits=ProviderCircuits(backend_for(settings), settings.circuit),
        limits=ProviderLimits(
            rate_limiter_backend(shared_redis_url(settings)), namespace=settings.redis_namespace
        ),
    )
