"""How many messages one endpoint may still take this minute, counted across worker processes.

A chat robot takes a fixed number of messages a minute (a WeCom group robot 20); past that it
refuses them. So each endpoint URL gets a sliding one-minute window: in Redis when the
deployment has one (every worker process counts in the same window), else in this process.
The URL itself carries the robot's token, so only its SHA-256 is used as a key.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

WINDOW_SECONDS = 60.0


class EndpointLimiter(Protocol):
    """Takes one slot of an endpoint's window, or says how long until one frees."""

    def acquire(self, endpoint: str, per_minute: int) -> float | None:
        """None when the message may go now (its slot taken); else seconds to wait."""


def endpoint_key(endpoint: str) -> str:
    """The name an endpoint's window goes by: its URL's SHA-256 (the URL holds a token)."""
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:32]


class LocalWindow:
    """Sliding windows held in this process (no Redis configured)."""

    def __init__(self, *, time_source: Callable[[], float] = time.monotonic) -> None:
        self._clock = time_source
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, endpoint: str, per_minute: int) -> float | None:
        """See :class:`EndpointLimiter`."""
        now = self._clock()
        with self._lock:
            sent = self._sent.setdefault(endpoint_key(endpoint), deque())
            while sent and sent[0] <= now - WINDOW_SECONDS:
                sent.popleft()
            if len(sent) < per_minute:
                sent.append(now)
                return None
            return sent[0] + WINDOW_SECONDS - now


# Atomic in Redis: drop what left the window, count, and take a slot or say when one frees.
_ACQUIRE = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return nil
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisWindow:
    """Sliding windows in Redis, shared by every process of the deployment.

    Wall-clock time (``clock``), since the processes share no monotonic clock.
    """

    def __init__(
        self, url: str, *, namespace: str, time_source: Callable[[], float] = time.time
    ) -> None:
        import redis  # only a deployment with Redis pays for the import

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_ACQUIRE)
        self._namespace = namespace
        self._clock = time_source

    def acquire(self, endpoint: str, per_minute: int) -> float | None:
        """See :class:`EndpointLimiter`."""
        key = f"{self._namespace}:endpoint-window:{endpoint_key(endpoint)}"
        now = self._clock()
        wait = self._script(keys=[key], args=[now, WINDOW_SECONDS, per_minute, uuid.uuid4().hex])
        return None if wait is None else max(float(wait), 0.0)

    def close(self) -> None:
        """Release the Redis connections."""
        self._client.close()


def endpoint_limiter(url: str | None, *, namespace: str) -> EndpointLimiter:
    """Redis windows when ``url`` names a Redis server, else windows in this process."""
    if url:
        return RedisWindow(url, namespace=namespace)
    return LocalWindow()
