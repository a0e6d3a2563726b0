"""The ports the pipeline is handed: how it queues work and which providers send.

The pipeline's functions take these (and a session factory) as arguments; ``runtime.py``
builds the real ones, tests hand in their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from notifier.channels.base import Provider


class Dispatch(Protocol):
    """Puts work on the queue. Called only after the rows it names are committed."""

    def fan_out(self, trigger_id: int) -> None:
        """Queue the fan-out of one trigger."""

    def deliveries(self, delivery_ids: Sequence[int], *, delay: float | None = None) -> None:
        """Queue one batch of delivery ids, optionally after ``delay`` seconds."""


class Providers(Protocol):
    """Resolves a channel to the providers that may carry it, in the order to try them."""

    def for_channel(self, channel: str) -> Sequence[Provider]:
        """The enabled providers of ``channel``, first choice first (empty: none configured)."""
