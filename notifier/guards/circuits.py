"""A circuit breaker per provider, its state in this process or in Redis (shared by workers).

``failures`` failures in a row (server errors, timeouts: a provider's fault, not a message's)
open a provider's circuit: nothing is sent to it for ``cooldown`` seconds. Then it is half-open:
one send goes through as a trial (the others still skip it); success closes the circuit,
failure opens it for another cool-down. Times are the delivery clock's, in epoch seconds, so
tests move them instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from notifier.config import CircuitSettings

log = logging.getLogger(__name__)


class Circuits(Protocol):
    """Which providers may be sent to now, and what their answers say about them."""

    def admit(self, name: str, now: float) -> float | None:
        """None: send through ``name``; else the time until which its circuit is open."""

    def failed(self, name: str, now: float) -> None:
        """Count a failure of ``name`` (its circuit may open)."""

    def succeeded(self, name: str) -> None:
        """``name`` answered: its circuit closes and its failures are forgotten."""


class NoCircuits:
    """Every provider always admitted (functions called without a runtime's circuits)."""

    def admit(self, name: str, now: float) -> float | None:
        """Always None."""
        return None

    def failed(self, name: str, now: float) -> None:
        """Nothing is kept."""

    def succeeded(self, name: str) -> None:
        """Nothing is kept."""


@dataclass
class _State:
    failures: int = 0
    open_until: float | None = None
    trial_until: float | None = None


class MemoryCircuits:
    """Circuits of one process (embedded mode)."""

    def __init__(self, settings: CircuitSettings) -> None:
        self._threshold = settings.failures
        self._cooldown = settings.cooldown_seconds
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def admit(self, name: str, now: float) -> float | None:
        """None: send; else when the open circuit (or another's trial) ends."""
        with self._lock:
            state = self._states.get(name)
            if state is None or state.open_until is None:
                return None
            if now < state.open_until:
                return state.open_until
            if state.trial_until is not None and now < state.trial_until:
                return state.trial_until
            state.trial_until = now + self._cooldown  # half-open: this send is the one trial
            return None

    def failed(self, name: str, now: float) -> None:
        """Open the circuit after ``failures`` in a row, or at once when a trial failed."""
        with self._lock:
            state = self._states.setdefault(name, _State())
            state.failures += 1
            if state.trial_until is not None or state.failures >= self._threshold:
                self._states[name] = _State(open_until=now + self._cooldown)

    def succeeded(self, name: str) -> None:
        """Close the circuit."""
        with self._lock:
            self._states.pop(name, None)


# Each script reads and writes one provider's hash atomically; floats travel as strings.
_ADMIT = """
local now = tonumber(ARGV[1])
local open = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '')
if not open then return '' end
if now < open then return tostring(open) end
local trial = tonumber(redis.call('HGET', KEYS[1], 'trial_until') or '')
if trial and now < trial then return tostring(trial) end
redis.call('HSET', KEYS[1], 'trial_until', tostring(now + tonumber(ARGV[2])))
return ''
"""
_FAILED = """
local now = tonumber(ARGV[1])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local trial = redis.call('HGET', KEYS[1], 'trial_until')
if trial or failures >= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'open_until', tostring(now + tonumber(ARGV[2])))
end
redis.call('EXPIRE', KEYS[1], 86400)
return failures
"""


class RedisCircuits:
    """Circuits shared by every worker process through Redis (``{namespace}:circuit:NAME``)."""

    def __init__(self, client: redis.Redis, *, namespace: str, settings: CircuitSettings) -> None:
        self._client = client
        self._namespace = namespace
        self._threshold = settings.failures
        self._cooldown = settings.cooldown_seconds
        self._admit: Any = client.register_script(_ADMIT)
        self._failed: Any = client.register_script(_FAILED)

    def _key(self, name: str) -> str:
        return f"{self._namespace}:circuit:{name}"

    def admit(self, name: str, now: float) -> float | None:
        """None: send; else when the open circuit (or another worker's trial) ends."""
        try:
            answer = self._admit(keys=[self._key(name)], args=[repr(now), repr(self._cooldown)])
        except redis.RedisError as exc:  # fail open: a lost Redis never holds a message back
            log.warning("circuit of %s unknown (Redis: %s); sending", name, exc)
            return None
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return float(text) if text else None

    def failed(self, name: str, now: float) -> None:
        """Open the circuit after ``failures`` in a row, or at once when a trial failed."""
        try:
            self._failed(
                keys=[self._key(name)], args=[repr(now), repr(self._cooldown), self._threshold]
            )
        except redis.RedisError as exc:
            log.warning("failure of %s not counted (Redis: %s)", name, exc)

    def succeeded(self, name: str) -> None:
        """Close the circuit.

        Called after a message went out: it must not raise, or the sent message would be
        taken for unsent and sent again.
        """
        try:
            self._client.delete(self._key(name))
        except redis.RedisError as exc:
            log.warning("circuit of %s not closed (Redis: %s)", name, exc)
