"""Choosing a provider for one message: priority order, circuits, limits, failover.

:func:`route` tries a channel's providers in priority order within one send. A provider whose
circuit is open is passed over; a provider that fails in a passing way (server error, timeout)
counts a failure on its circuit and the message moves on to the next one, so a delivery is not
failed while another provider can take it. A "slow down" answer (:class:`ThrottledError`) stops
the round: the delivery waits and is sent again, and the answer counts against nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from notifier.channels.base import Provider, SendResult
from notifier.errors import PermanentError, ThrottledError, TransientError
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
    routed = Routed()
    waits: list[float] = []
    for provider in candidates:
        # A provider sending to each recipient's own endpoint has no circuit: its failures
        # are the endpoint's, retried per delivery with backoff.
        circuits = guard.circuits if provider.shared_endpoint else NO_CIRCUITS
        open_until = circuits.admit(provider.name, now)
        if open_until is not None:
            waits.append(open_until)
            continue
        if routed.error is not None and routed.provider is not None:
            routed.passed_over.append(PassedOver(routed.provider.name, _reason(routed.error)))
        routed.provider, routed.error = provider, None
        try:
            with guard.limits.hold(provider):
                routed.result = send(provider)
        except ThrottledError as exc:
            routed.error = exc
            return routed
        except TransientError as exc:
            circuits.failed(provider.name, now)
            routed.error = exc
            continue
        except PermanentError as exc:  # it answered: up, though it refused this message
            circuits.succeeded(provider.name)
            routed.error = exc
            return routed
        except Exception as exc:  # the message's own problem (template, address), or a bug
            routed.error = exc
            return routed
        circuits.succeeded(provider.name)
        return routed
    if routed.provider is None:
        routed.open_until = min(waits)
    return routed


def _reason(error: Exception) -> str:
    return getattr(error, "reason", None) or str(error)
