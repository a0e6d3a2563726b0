"""Per-provider limits, held across every worker process: dramatiq's rate limiters.

A provider's ``rate_per_second`` is a :class:`~dramatiq.rate_limits.WindowRateLimiter` of one
second, its ``concurrency`` a :class:`~dramatiq.rate_limits.ConcurrentRateLimiter`; both on
Redis when there is one (every worker shares them), in this process otherwise. A send that finds
its provider's limit reached waits for it: waiting delays a send, it never fails one. Permits
are taken in the first 0.9 s of each second only, so the limit also holds at the provider's end
(see ``LATE_IN_SECOND``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

from dramatiq.rate_limits import ConcurrentRateLimiter, RateLimiter, WindowRateLimiter

# A concurrency slot left by a process killed mid-send is freed after this long.
SLOT_TTL_MS = 120_000
# How long a sender waiting for a concurrency slot sleeps between looks.
SLOT_POLL_SECONDS = 0.01
# Room in this second's window is taken only in its first 0.9 s: a send reaches its provider a
# little after its permit, and one taken at 0.999 s would count in the next second there.
LATE_IN_SECOND = 0.9


class _Rates(Protocol):
    @property
    def concurrency(self) -> int | None: ...

    @property
    def rate_per_second(self) -> int | None: ...


class Provider(Protocol):
    """What a limit reads of a provider: its name and its rate and concurrency options."""

    @property
    def name(self) -> str: ...

    @property
    def rules(self) -> _Rates: ...


class Limits(Protocol):
    """Holds each send within its provider's limits."""

    def hold(self, provider: Provider) -> AbstractContextManager[None]:
        """Wait until ``provider`` may take one more message; held while it is sent."""


class NoLimits:
    """No limits at all (functions called without a runtime's limits)."""

    def hold(self, provider: Provider) -> AbstractContextManager[None]:
        """Never waits."""
        return nullcontext()


def _next_second(now: float) -> float:
    # Just after the next whole second, when the one-second window starts again; a little
    # jitter keeps the waiting threads from all asking at the same instant.
    return 1.0 - (now % 1.0) + random.uniform(0.001, 0.01)  # noqa: S311 - not a secret


class ProviderLimits:
    """The limiters of each provider, on ``backend`` (dramatiq's Redis or stub backend)."""

    def __init__(
        self,
        backend: Any,
        *,
        namespace: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._backend = backend
        self._namespace = namespace
        self._sleep = sleep
        self._limiters: dict[tuple[str, str, int], RateLimiter] = {}

    def _limiter(self, provider: Provider, what: str, limit: int) -> RateLimiter:
        key = (provider.name, what, limit)
        limiter = self._limiters.get(key)
        if limiter is None:
            name = f"{self._namespace}:limit:{what}:{provider.name}"
            if what == "rate":
                limiter = WindowRateLimiter(self._backend, name, limit=limit, window=1)
            else:
                limiter = ConcurrentRateLimiter(self._backend, name, limit=limit, ttl=SLOT_TTL_MS)
            self._limiters[key] = limiter
        return limiter

    @contextmanager
    def hold(self, provider: Provider) -> Iterator[None]:
        """Wait for a concurrency slot, then for room in this second's window; send inside."""
        rules = provider.rules
        if rules.concurrency is None:
            slot: AbstractContextManager[Any] = nullcontext(True)
        else:
            slot = self._slot(self._limiter(provider, "concurrency", rules.concurrency))
        with slot:
            if rules.rate_per_second is not None:
                self._wait_for_window(self._limiter(provider, "rate", rules.rate_per_second))
            yield

    @contextmanager
    def _slot(self, limiter: RateLimiter) -> Iterator[None]:
        while True:
            with limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    yield
                    return
            self._sleep(SLOT_POLL_SECONDS)

    def _wait_for_window(self, limiter: RateLimiter) -> None:
        while True:
            now = time.time()
            if now % 1.0 < LATE_IN_SECOND:
                with limiter.acquire(raise_on_failure=False) as acquired:
                    if acquired:
                        return
            self._sleep(_next_second(now))
