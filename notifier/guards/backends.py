"""Where the guards keep their counts: a small record per key, changed atomically, here or in Redis.

Every guard (provider circuits, endpoint windows, sign-in throttling) is written once as a
*rule*: a pure function from a key's record (a few numbers, or None) to its new record and an
answer. A backend only applies a rule atomically:

* :class:`MemoryBackend`: under a lock, in this process (embedded mode, tests).
* :class:`RedisBackend`: read the key and apply the rule; when the rule changes the record,
  ``WATCH`` the key, read and apply again, write it in ``MULTI``, all done again if another
  process changed the key in between. Every process sharing the Redis
  server sees one record. While Redis cannot be reached it counts in this process
  (``fallback``): an outage neither opens a gate nor fails a send or a request, and nothing
  raises after a message went out.

Why rules and ``WATCH`` rather than a Lua script per guard: each rule is written once, in Python,
for both backends, so the two cannot drift apart (they used to be written twice, Python and
Lua); a guard touches one key per call, so a retry after a conflicting write is rare and cheap.

Why not the ``limits`` library: its storages read the time themselves (``time.time()``, Redis
expiry), so a test could not move it. Here a backend never reads a clock: the rules take
``now`` (epoch seconds) from their guard's time source, and a test moves that. Redis expiry
and the memory backend's own sweep (``keep``) only drop records nobody has used for longer
than they can matter.

Provider rate and concurrency limits stay dramatiq's rate limiters (the workers' shared
limiters, measured in ``tests/services/delivery/test_failover.py``); :func:`rate_limiter_backend`
picks their backend by the same URL, so :func:`shared_redis_url` is the one place that decides.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from notifier.config import Settings

# Imported where a Redis backend is made: embedded processes and the providers' settings
# (shared_redis_url) need neither redis nor dramatiq's limiter backends.
if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

# A key's record: a few numbers by position (None where a value is unset).
Record = tuple[float | None, ...]
Answer = TypeVar("Answer")
# A rule: the key's record now (None: none) -> (its new record, None to delete; the answer).
Rule = Callable[[Record | None], tuple[Record | None, Answer]]

# Bounds a memory backend under a spray of keys (client addresses, endpoints).
MAX_MEMORY_RECORDS = 100_000
# A Redis server that does not answer within this long counts as unreachable.
REDIS_TIMEOUT_SECONDS = 2.0


class GuardBackend(Protocol):
    """Applies a rule to one key's record atomically."""

    def change(self, key: str, rule: Rule[Answer], *, keep: float) -> Answer:
        """Apply ``rule`` to ``key``'s record and return its answer.

        Parameters:
            key: the record's name within the guards' namespace.
            rule: a pure function (it may run more than once); see :data:`Rule`.
            keep: seconds after this write the record may be dropped as unused.
        """
        ...

    def close(self) -> None:
        """Release connections (nothing in memory)."""
        ...


class MemoryBackend:
    """Records in this process's memory."""

    def __init__(
        self,
        *,
        max_records: int = MAX_MEMORY_RECORDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records: dict[str, tuple[Record, float]] = {}
        self._max = max_records
        self._monotonic = monotonic  # for dropping unused records only; rules get their own now
        self._lock = threading.Lock()

    def change(self, key: str, rule: Rule[Answer], *, keep: float) -> Answer:
        """See :class:`GuardBackend`."""
        with self._lock:
            now = self._monotonic()
            held = self._records.get(key)
            record = held[0] if held is not None and held[1] > now else None
            new, answer = rule(record)
            if new is None:
                self._records.pop(key, None)
            elif new != record:
                self._records[key] = (new, now + keep)
                if len(self._records) > self._max:
                    self._sweep(now)
            return answer

    def _sweep(self, now: float) -> None:
        self._records = {k: held for k, held in self._records.items() if held[1] > now}
        if len(self._records) > self._max // 2:  # still crowded: forget, rather than sweep often
            log.warning("guards: more than %d records in memory; forgetting them", self._max)
            self._records.clear()

    def close(self) -> None:
        """Nothing to release."""


def _decode(raw: bytes | str | None) -> Record | None:
    return None if raw is None else tuple(json.loads(raw))


class RedisBackend:
    """Records in Redis as JSON arrays under ``{namespace}:guard:{key}``, shared by processes."""

    def __init__(
        self, client: redis.Redis, *, namespace: str, fallback: GuardBackend | None = None
    ) -> None:
        import redis

        self._unreachable = redis.RedisError
        self._client = client
        self._prefix = f"{namespace}:guard:"
        self._fallback: GuardBackend = fallback or MemoryBackend()

    def change(self, key: str, rule: Rule[Answer], *, keep: float) -> Answer:
        """See :class:`GuardBackend`; in ``fallback`` while Redis cannot be reached."""
        name = self._prefix + key

        def apply(pipe: Any) -> Answer:
            record = _decode(pipe.get(name))
            new, answer = rule(record)
            if new != record:
                pipe.multi()
                if new is None:
                    pipe.delete(name)
                else:
                    pipe.set(name, json.dumps(new), px=max(1, math.ceil(keep * 1000)))
            return answer

        try:
            # Most calls change nothing (a closed circuit, an address under its limit): one GET.
            record = _decode(self._client.get(name))
            new, answer = rule(record)
            if new == record:
                return answer
            # redis-py types the callable as returning None; value_from_callable returns its value.
            done = self._client.transaction(cast(Any, apply), name, value_from_callable=True)
        except self._unreachable as exc:
            log.warning("guards: Redis unreachable, counting %s in this process: %s", key, exc)
            return self._fallback.change(key, rule, keep=keep)
        return cast(Answer, done)

    def close(self) -> None:
        """Release the Redis connections."""
        self._client.close()


def shared_redis_url(settings: Settings) -> str | None:
    """The Redis server the processes share, or None (embedded, or RabbitMQ alone)."""
    if settings.broker_kind == "redis":
        return settings.broker
    return settings.redis_url


def create_backend(url: str | None, *, namespace: str) -> GuardBackend:
    """A Redis backend when ``url`` names a Redis server, else one in this process."""
    if url is None:
        return MemoryBackend()
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    return RedisBackend(client, namespace=namespace)


def backend_for(settings: Settings) -> GuardBackend:
    """The backend for these settings: on the shared Redis when there is one."""
    return create_backend(shared_redis_url(settings), namespace=settings.redis_namespace)


def rate_limiter_backend(url: str | None) -> Any:
    """dramatiq's rate-limiter backend on the same server as :func:`create_backend`'s."""
    from dramatiq.rate_limits.backends import RedisBackend as DramatiqRedisBackend
    from dramatiq.rate_limits.backends import StubBackend

    if url is None:
        return StubBackend()
    import redis

    # No socket timeout, as before: a limiter waits for Redis rather than sending unlimited.
    return DramatiqRedisBackend(client=redis.Redis.from_url(url))
