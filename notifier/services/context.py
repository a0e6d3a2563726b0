"""What every service function takes: the process's parts and who is asking.

A face (CLI command, API route, console page, clock job) builds one :class:`Context` with
``runtime.context(actor)`` and hands it to one service function; the service reads the parts it
uses from it and writes its audit row, naming ``actor``, in the transaction of its change.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from notifier.domain.scope import DISTRICT, Scope

# Types only: every service package may take a Context, the delivery and provider packages
# too, whose parts it names (import-linter leaves type-checking imports out of its contracts).
if TYPE_CHECKING:
    from notifier.config import Settings
    from notifier.domain.secret_box import SecretBox
    from notifier.domain.time_source import TimeSource
    from notifier.guards.provider_guard import ProviderGuard
    from notifier.services.delivery.messages import MessageFactory
    from notifier.services.delivery.ports import Dispatch
    from notifier.services.providers.catalog import ProviderCatalog
    from notifier.store.db import SessionFactory

Face = Literal["api", "console", "cli", "clock", "page"]


@dataclass(frozen=True)
class Actor:
    """Who asks for an operation, as the audit log names them.

    ``name`` is an API key's prefix (API and console), ``cli:<operating-system user>`` for the
    CLI, or ``clock`` for the scheduler's own work; ``role`` the key's role (``staff``,
    ``admin``, ``enterprise``), ``operator`` on the CLI; ``face`` the way they came in;
    ``owner`` the name of the user who owns the key, when a key with an owner is the actor;
    ``scope`` what of the district they may see (the CLI and the clock: all of it).
    """

    name: str
    role: str
    face: Face
    owner: str | None = None
    scope: Scope = DISTRICT

    @classmethod
    def operator(cls) -> Actor:
        """The person at the shell: the CLI is run by whoever can read the settings."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (a container's numeric uid)
            user = "unknown"
        return cls(name=f"cli:{user}"[:64], role="operator", face="cli")


CLOCK = Actor(name="clock", role="system", face="clock")


class Process(Protocol):
    """The parts one process holds (``notifier.runtime.Runtime`` is the one implementation)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> SessionFactory: ...

    @property
    def time_source(self) -> TimeSource: ...

    @property
    def dispatch(self) -> Dispatch: ...

    @property
    def catalog(self) -> ProviderCatalog: ...

    @property
    def messages(self) -> MessageFactory: ...

    @property
    def box(self) -> SecretBox: ...

    @property
    def guard(self) -> ProviderGuard: ...


@dataclass(frozen=True)
class Context:
    """One operation's context: the process's parts (read on use, so the broker and the
    providers are built only by operations that need them) and the actor."""

    process: Process
    actor: Actor

    @property
    def scope(self) -> Scope:
        """What of the district the actor may see (see :mod:`notifier.domain.scope`)."""
        return self.actor.scope

    @property
    def settings(self) -> Settings:
        """The process's settings."""
        return self.process.settings

    @property
    def sessions(self) -> SessionFactory:
        """The database session factory; the service owns its transaction."""
        return self.process.sessions

    @property
    def time_source(self) -> TimeSource:
        """The process's one source of the current time."""
        return self.process.time_source

    @property
    def dispatch(self) -> Dispatch:
        """How work is queued (the broker, built on first use)."""
        return self.process.dispatch

    @property
    def catalog(self) -> ProviderCatalog:
        """The configured providers (loaded on first use)."""
        return self.process.catalog

    @property
    def messages(self) -> MessageFactory:
        """Builds each delivery's message."""
        return self.process.messages

    @property
    def box(self) -> SecretBox:
        """The secret box over ``secrets.keys``."""
        return self.process.box

    @property
    def guard(self) -> ProviderGuard:
        """The providers' circuits and limits."""
        return self.process.guard
