"""A circuit breaker per provider, on a guard backend (this process, or Redis shared by workers).

``failures`` failures in a row (server errors, timeouts: a provider's fault, not a message's)
open a provider's circuit: nothing is sent to it for ``cooldown`` seconds. Then it is half-open:
one send goes through as a trial (the others still skip it); success closes the circuit,
failure opens it for another cool-down. Times are the delivery clock's, in epoch seconds, so
tests move them instead of sleeping.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from notifier.config import CircuitSettings
from notifier.guards.backends import GuardBackend, Record

# A circuit's record outlives a quiet day (or two cool-downs) before it is dropped as unused.
KEEP_SECONDS = 86_400.0


class Circuits(Protocol):
    """Which providers may be sent to now, and what their answers say about them."""

    def admit(self, name: str, now: float) -> float | None:
        """None: send through ``name``; else the time until which its circuit is open."""

    def failed(self, name: str, now: float) -> None:
        """Count a failure of ``name`` (its circuit may open)."""

    def succeeded(self, name: str) -> None:
        """``name`` answered: its circuit closes and its failures are forgotten.

        Called after a message went out: it must not raise, or the sent message would be
        taken for unsent and sent again.
        """


class NoCircuits:
    """Every provider always admitted (functions called without a runtime's circuits)."""

    def admit(self, name: str, now: float) -> float | None:
        """Always None."""
        return None

    def failed(self, name: str, now: float) -> None:
        """Nothing is kept."""

    def succeeded(self, name: str) -> None:
        """Nothing is kept."""


class _State(NamedTuple):
    failures: int = 0
    open_until: float | None = None
    trial_until: float | None = None  # set once the half-open circuit let its trial through

    @classmethod
    def of(cls, record: Record | None) -> _State:
        if record is None:
            return cls()
        failures, open_until, trial_until = record
        return cls(int(failures or 0), open_until, trial_until)


class ProviderCircuits:
    """Circuits kept on ``backend``: shared by every worker process when it is Redis."""

    def __init__(self, backend: GuardBackend, settings: CircuitSettings) -> None:
        self._backend = backend
        self._threshold = settings.failures
        self._cooldown = settings.cooldown_seconds
        self._keep = max(KEEP_SECONDS, 2 * settings.cooldown_seconds)

    def admit(self, name: str, now: float) -> float | None:
        """None: send; else when the open circuit (or another worker's trial) ends."""

        def rule(record: Record | None) -> tuple[Record | None, float | None]:
            state = _State.of(record)
            if state.open_until is None:
                return record, None
            if now < state.open_until:
                return record, state.open_until
            if state.trial_until is not None and now < state.trial_until:
                return record, state.trial_until
            # Half-open: this send is the one trial.
            return tuple(state._replace(trial_until=now + self._cooldown)), None

        return self._backend.change(f"circuit:{name}", rule, keep=self._keep)

    def failed(self, name: str, now: float) -> None:
        """Open the circuit after ``failures`` in a row, or at once when a trial failed."""

        def rule(record: Record | None) -> tuple[Record | None, None]:
            state = _State.of(record)
            failures = state.failures + 1
            if state.trial_until is not None or failures >= self._threshold:
                return tuple(_State(open_until=now + self._cooldown)), None
            return tuple(state._replace(failures=failures)), None

        self._backend.change(f"circuit:{name}", rule, keep=self._keep)

    def succeeded(self, name: str) -> None:
        """Close the circuit (see :class:`Circuits`)."""
        self._backend.change(f"circuit:{name}", lambda record: (None, None), keep=self._keep)
