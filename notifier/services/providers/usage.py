"""Which providers the sending processes send through now, as each of them reports it.

Each process that sends (a ``notifier worker`` process, or ``notifier run``) writes one
``provider_usage`` row after every load of its :class:`~.catalog.ProviderCatalog` and as a
heartbeat every ``circuit.refresh_seconds``, and deletes it when it stops cleanly. A row not
renewed for :data:`STALE_AFTER` refreshes counts as a process gone (killed, or its machine lost).
The providers page and ``notifier providers list`` read :func:`senders` rather than the web
process's own catalog, which outside ``notifier run`` is not the workers'.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from notifier.config import Settings
from notifier.services.providers.catalog import Loaded
from notifier.store import provider_usage as store
from notifier.store.db import SessionFactory
from notifier.store.models import ProviderUsage

# Reports older than this many refresh intervals belong to processes that are gone.
STALE_AFTER = 3

State = Literal["all", "some", "unused", "no_senders"]


def process_name(role: str) -> str:
    """This process as its report names it: ``host:pid:role``."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"[:200]


def stale_after(settings: Settings) -> timedelta:
    """How long a report counts: :data:`STALE_AFTER` × ``circuit.refresh_seconds``."""
    return timedelta(seconds=STALE_AFTER * settings.circuit.refresh_seconds)


def report(
    sessions: SessionFactory, settings: Settings, *, process: str, loaded: Loaded, now: datetime
) -> None:
    """Store what ``process`` sends through now, and forget the processes gone silent."""
    with sessions.begin() as session:
        store.put(
            session,
            process=process,
            channels=loaded.channels,
            broken=loaded.broken,
            version=loaded.version,
            now=now,
        )
        store.drop_older_than(session, now - stale_after(settings))


def forget(sessions: SessionFactory, process: str) -> None:
    """Delete the report of ``process`` (it is stopping: it sends no more)."""
    with sessions.begin() as session:
        store.drop(session, process)


@dataclass(frozen=True)
class Usage:
    """How many of the live senders use one provider: all, some (a change on its way), none,
    or there is no live sender to ask."""

    state: State
    using: int
    senders: int


@dataclass(frozen=True)
class Senders:
    """What the live sending processes use: provider names by channel (first choice first),
    with how many processes use each; and the rows any of them left out, with the reason."""

    count: int
    channels: dict[str, dict[str, int]]
    broken: dict[str, str]

    def names(self, channel: str) -> list[str]:
        """The providers some live sender uses on ``channel``."""
        return list(self.channels.get(channel, {}))

    def usage(self, channel: str, name: str) -> Usage:
        """How many live senders send ``channel`` through the provider ``name``."""
        using = self.channels.get(channel, {}).get(name, 0)
        if self.count == 0:
            state: State = "no_senders"
        elif using == self.count:
            state = "all"
        else:
            state = "some" if using else "unused"
        return Usage(state=state, using=using, senders=self.count)


def summed(reports: Iterable[ProviderUsage]) -> Senders:
    """The reports of several processes as one view."""
    count = 0
    channels: dict[str, dict[str, int]] = {}
    broken: dict[str, str] = {}
    for row in reports:
        count += 1
        for channel, names in (row.channels or {}).items():
            counted = channels.setdefault(channel, {})
            for name in names:
                counted[name] = counted.get(name, 0) + 1
        broken.update(row.broken or {})
    return Senders(count=count, channels=channels, broken=broken)


def senders(sessions: SessionFactory, settings: Settings, *, now: datetime) -> Senders:
    """What the sending processes that reported lately use (a stale report is left out)."""
    with sessions() as session:
        return summed(store.reported_since(session, now - stale_after(settings)))
