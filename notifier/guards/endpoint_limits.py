"""How many messages one endpoint may still take this minute, counted across worker processes.

A chat robot takes a fixed number of messages a minute (a WeCom group robot 20); past that it
refuses them. So each endpoint URL gets a sliding one-minute window on a guard backend: in
Redis when the deployment has one (every worker process counts in the same window), else in
this process. The URL itself carries the robot's token, so only its SHA-256 is used as a key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from notifier.guards.backends import GuardBackend, Record, Rule, create_backend

WINDOW_SECONDS = 60.0


def endpoint_key(endpoint: str) -> str:
    """The name an endpoint's window goes by: its URL's SHA-256 (the URL holds a token)."""
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:32]


def take_slot(
    limit: int, window: float, now: float
) -> Rule[float | None]:
    """The sliding-window rule: the record is the times of the sends still in the window.

    Its answer is None when a slot was taken (``now`` added), else the seconds until the
    oldest send leaves the window.
    """

    def rule(record: Record | None) -> tuple[Record | None, float | None]:
        sent = tuple(t for t in record or () if t is not None and t > now - window)
        if len(sent) < limit:
            return (*sent, now), None
        oldest = min(t for t in sent if t is not None)
        return sent, max(oldest + window - now, 0.0)

    return rule


class EndpointLimiter:
    """Takes one slot of an endpoint's window, or says how long until one frees.

    ``time_source`` is wall-clock time by default: processes sharing Redis share no other.
    """

    def __init__(
        self, backend: GuardBackend, *, time_source: Callable[[], float] = time.time
    ) -> None:
        self._backend = backend
        self._time_source = time_source

    def acquire(self, endpoint: str, per_minute: int) -> float | None:
        """None when the message may go now (its slot taken); else seconds to wait."""
        rule = take_slot(per_minute, WINDOW_SECONDS, self._time_source())
        key = f"endpoint-window:{endpoint_key(endpoint)}"
        return self._backend.change(key, rule, keep=WINDOW_SECONDS)

    def close(self) -> None:
        """Release the backend's connections."""
        self._backend.close()


def endpoint_limiter(
    url: str | None, *, namespace: str, time_source: Callable[[], float] = time.time
) -> EndpointLimiter:
    """Windows in Redis when ``url`` names a Redis server, else in this process."""
    return EndpointLimiter(create_backend(url, namespace=namespace), time_source=time_source)
