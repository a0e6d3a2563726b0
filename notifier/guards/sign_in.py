"""Failed API-key attempts, counted per client address: too many in a window gives 429.

The client address is the connection's peer; ``X-Forwarded-For`` counts only when that peer
is one of ``web.trusted_proxies`` (:class:`ClientAddress`), so a client cannot choose the
address its failures count against.

In Redis when the broker is Redis (so every web process shares the count), else in this
process. A fixed window per address: simple, and good enough to make guessing hopeless (a key
has 256 random bits); the limit is about noise and log floods, not the keys' safety.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import redis
from starlette.requests import HTTPConnection

from notifier.config import Settings

log = logging.getLogger(__name__)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """The address a request comes from, believing ``X-Forwarded-For`` only from ``trusted``.

    The same rule as uvicorn's ``forwarded_allow_ips`` (which ``notifier.web.server`` sets
    from the same setting): walking the header from the right, the first address that is not
    a trusted proxy is the client. Applied after uvicorn it changes nothing.
    """

    def __init__(self, trusted: Sequence[str]) -> None:
        self.trusted: list[Network] = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def __call__(self, request: HTTPConnection) -> str:
        peer = request.client.host if request.client else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop[:64]  # the counter's key: bounded, whatever the proxy passed on
        return hops[0][:64] if hops else peer


class FailedAttempts(Protocol):
    """Counts failures per address; says how long a blocked address must wait."""

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it may now."""

    def failed(self, address: str) -> None:
        """Count one failure of ``address``."""


class InProcessAttempts:
    """Counts in this process's memory (embedded mode, tests)."""

    def __init__(self, *, limit: int, window: float, now: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.now = now
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def _current(self, address: str) -> tuple[float, int]:
        start, count = self._windows.get(address, (0.0, 0))
        if self.now() - start >= self.window:
            return self.now(), 0
        return start, count

    def retry_after(self, address: str) -> int | None:
        with self._lock:
            start, count = self._current(address)
            if count < self.limit:
                return None
            return max(1, math.ceil(start + self.window - self.now()))

    def failed(self, address: str) -> None:
        with self._lock:
            start, count = self._current(address)
            self._windows[address] = (start, count + 1)
            if len(self._windows) > 100_000:  # bound memory under a spray of addresses
                self._windows.clear()


class RedisAttempts:
    """Counts in Redis, shared by every web process: ``INCR`` with the window as expiry.

    While Redis cannot be reached, counts in this process (``fallback``): a broker outage
    neither opens the gate nor turns every request into an error.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str,
        limit: int,
        window: float,
        fallback: FailedAttempts,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.limit = limit
        self.window = max(1, math.ceil(window))
        self.fallback = fallback

    def _key(self, address: str) -> str:
        return f"{self.namespace}:auth-failures:{address}"

    def retry_after(self, address: str) -> int | None:
        try:
            count = self.client.get(self._key(address))
            if count is None or int(count) < self.limit:
                return self.fallback.retry_after(address)
            ttl = self.client.ttl(self._key(address))
        except redis.exceptions.RedisError as exc:
            log.warning("failed-key counts: Redis unreachable, counting here: %s", exc)
            return self.fallback.retry_after(address)
        return max(1, int(ttl)) if ttl and int(ttl) > 0 else 1

    def failed(self, address: str) -> None:
        key = self._key(address)
        try:
            with self.client.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window, nx=True)
                pipe.execute()
        except redis.exceptions.RedisError:
            self.fallback.failed(address)


def failed_attempts(settings: Settings, *, now: Callable[[], float]) -> FailedAttempts:
    """The counter for these settings: in Redis when the broker is Redis, else in process."""
    web = settings.web
    here = InProcessAttempts(
        limit=web.failed_auth_limit, window=web.failed_auth_window_seconds, now=now
    )
    if settings.broker_kind == "redis" and settings.broker:
        return RedisAttempts(
            redis.Redis.from_url(settings.broker, socket_timeout=2, socket_connect_timeout=2),
            namespace=settings.redis_namespace,
            limit=web.failed_auth_limit,
            window=web.failed_auth_window_seconds,
            fallback=here,
        )
    return here
