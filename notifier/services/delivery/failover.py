"""Choosing a provider for one message: priority order, circuits, limits, failover.

:func:`route` tries a channel's providers in priority order within one send. A provider whose
circuit is open is passed over; a provider that fails in a passing way (server error, timeout)
counts a failure on its circuit and the message moves on to the next one, so a delivery is not
failed while another provider can take it. A "slow down" answer (:class:`ThrottledError`) stops
the round: the delivery waits and is sent again, and the answer counts against nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from notifier.channels.base import Provider, SendResult
from notifier.errors import PermanentError, ThrottledError, TransientError
from notifier.guards.circuits import Circuits
from notifier.guards.provider_guard import NO_CIRCUITS, ProviderGuard


@dataclass(frozen=True)
class PassedOver:
    """A provider that failed for a passing reason; the message went on to the next one."""

    provider: str
    reason: str


@dataclass
class Routed:
    """How one message's round through its providers ended.

    Exactly one of ``result`` (a provider took it), ``error`` (the last provider tried raised
    it) and ``open_until`` (every circuit is open: the epoch time the first one half-opens) is
    set. ``provider`` is the last provider tried (None when none was).
    """

    passed_over: list[PassedOver] = field(default_factory=list)
    result: SendResult | None = None
    error: Exception | None = None
    provider: Provider | None = None
    open_until: float | None = None


class _Round:
    """One message's round through its providers, whichever way the sends are made: the
    next provider to try (circuits admitting) and what each try's end means."""

    def __init__(self, candidates: Sequence[Provider], guard: ProviderGuard, now: float) -> None:
        self.routed = Routed()
        self._left = iter(candidates)
        self._guard = guard
        self._now = now
        self._waits: list[float] = []

    def _circuits(self, provider: Provider) -> Circuits:
        # A provider sending to each recipient's own endpoint has no circuit: its failures
        # are the endpoint's, retried per delivery with backoff.
        return self._guard.circuits if provider.shared_endpoint else NO_CIRCUITS

    def next(self) -> Provider | None:
        """The next provider whose circuit admits a message; None: the round has ended."""
        routed = self.routed
        for provider in self._left:
            open_until = self._circuits(provider).admit(provider.name, self._now)
            if open_until is not None:
                self._waits.append(open_until)
                continue
            if routed.error is not None and routed.provider is not None:
                routed.passed_over.append(PassedOver(routed.provider.name, _reason(routed.error)))
            routed.provider, routed.error = provider, None
            return provider
        if routed.provider is None:
            routed.open_until = min(self._waits)
        return None

    def took(self, provider: Provider, result: SendResult) -> None:
        """``provider`` took the message."""
        self._circuits(provider).succeeded(provider.name)
        self.routed.result = result

    def raised(self, provider: Provider, error: Exception) -> bool:
        """``provider`` raised ``error``; True when the message moves on to the next one."""
        self.routed.error = error
        circuits = self._circuits(provider)
        if isinstance(error, ThrottledError):
            return False
        if isinstance(error, TransientError):
            circuits.failed(provider.name, self._now)
            return True
        if isinstance(error, PermanentError):  # it answered: up, though it refused this one
            circuits.succeeded(provider.name)
        # Else the message's own problem (template, address), or a bug.
        return False


def route(
    candidates: Sequence[Provider],
    send: Callable[[Provider], SendResult],
    *,
    guard: ProviderGuard,
    now: float,
) -> Routed:
    """Send through the first provider of ``candidates`` that takes the message.

    Parameters:
        candidates: the channel's enabled providers, first choice first (at least one).
        send: builds the message for a provider and sends it (raises as ``Provider.send``).
        guard: circuits and limits.
        now: the clock's time in epoch seconds, for the circuits.
    """
    round_ = _Round(candidates, guard, now)
    while (provider := round_.next()) is not None:
        try:
            with guard.limits.hold(provider):
                result = send(provider)
        except Exception as exc:
            if round_.raised(provider, exc):
                continue
            break
        round_.took(provider, result)
        break
    return round_.routed


async def aroute(
    candidates: Sequence[Provider],
    send: Callable[[Provider], Awaitable[SendResult]],
    *,
    guard: ProviderGuard,
    now: float,
) -> Routed:
    """:func:`route` on the event loop, for providers that send there and wait on no limit
    (see :func:`sends_on_loop`): the same round, the sends awaited."""
    round_ = _Round(candidates, guard, now)
    while (provider := round_.next()) is not None:
        try:
            result = await send(provider)
        except Exception as exc:
            if round_.raised(provider, exc):
                continue
            break
        round_.took(provider, result)
        break
    return round_.routed


def sends_on_loop(candidates: Sequence[Provider]) -> bool:
    """True when every one of ``candidates`` sends on one event loop (``sends_async``) to its
    recipients' own endpoints (no circuit) with no limit of its own to wait for."""
    return (
        bool(candidates)
        and len({id(p.loop) for p in candidates}) == 1
        and all(
            p.sends_async
            and p.loop is not None
            and not p.shared_endpoint
            and p.rules.rate_per_second is None
            and p.rules.concurrency is None
            for p in candidates
        )
    )


def _reason(error: Exception) -> str:
    return getattr(error, "reason", None) or str(error)
