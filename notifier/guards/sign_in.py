"""Failed API-key attempts, counted per client address: too many in a window gives 429.

The client address is the connection's peer; ``X-Forwarded-For`` counts only when that peer
is one of ``web.trusted_proxies`` (:class:`ClientAddress`), so a client cannot choose the
address its failures count against.

Kept on a guard backend: in Redis when the processes share one (every web process shares
the count), else in this process. A fixed window per address: simple, and good enough to make
guessing hopeless (a key has 256 random bits); the limit is about noise and log floods, not the
keys' safety.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence

from starlette.requests import HTTPConnection

from notifier.config import Settings
from notifier.guards.backends import GuardBackend, Record, backend_for

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


class FailedAttempts:
    """Counts failures per address in fixed windows; says how long a blocked address must wait.

    Parameters:
        backend: where the counts are kept (Redis: shared by every web process).
        limit: failures an address may make per window.
        window: the window's length in seconds, from an address's first failure in it.
        time_source: epoch seconds (the runtime's time source, so tests move it).
    """

    def __init__(
        self,
        backend: GuardBackend,
        *,
        limit: int,
        window: float,
        time_source: Callable[[], float],
    ) -> None:
        self.limit = limit
        self.window = window
        self._backend = backend
        self._time_source = time_source

    def _current(self, record: Record | None, now: float) -> tuple[float, int]:
        start, count = record or (now, 0)
        if start is None or now - start >= self.window:
            return now, 0
        return start, int(count or 0)

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it may now."""
        now = self._time_source()

        def rule(record: Record | None) -> tuple[Record | None, int | None]:
            start, count = self._current(record, now)
            if count < self.limit:
                return record, None
            return record, max(1, math.ceil(start + self.window - now))

        return self._backend.change(self._key(address), rule, keep=self.window)

    def failed(self, address: str) -> None:
        """Count one failure of ``address``."""
        now = self._time_source()

        def rule(record: Record | None) -> tuple[Record | None, None]:
            start, count = self._current(record, now)
            return (start, count + 1), None

        self._backend.change(self._key(address), rule, keep=self.window)

    @staticmethod
    def _key(address: str) -> str:
        return f"auth-failures:{address}"


def failed_attempts(settings: Settings, *, time_source: Callable[[], float]) -> FailedAttempts:
    """The counter for these settings: on the processes' shared Redis when there is one."""
    web = settings.web
    return FailedAttempts(
        backend_for(settings),
        limit=web.failed_auth_limit,
        window=web.failed_auth_window_seconds,
        time_source=time_source,
    )
