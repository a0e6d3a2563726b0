"""The built providers of a process, and which of them serve a channel, in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from notifier.channels.base import Provider


class ProviderSet:
    """The providers a process sends through, each with its priority (lower first).

    Only enabled providers are held (:func:`~notifier.channels.registry.build_providers`
    leaves the others out). Equal priorities keep the order the configs came in.
    """

    def __init__(self, ranked: Iterable[tuple[int, Provider]]) -> None:
        ordered = sorted(enumerate(ranked), key=lambda item: (item[1][0], item[0]))
        self._providers: tuple[Provider, ...] = tuple(provider for _, (_, provider) in ordered)

    def for_channel(self, channel: str) -> list[Provider]:
        """The providers serving ``channel``, lowest priority number first; [] when none."""
        return [provider for provider in self._providers if provider.channel == channel]

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)

    def close(self) -> None:
        """Close every provider (each releases its own connections)."""
        for provider in self._providers:
            provider.close()
