"""What the actors and clock jobs of a process are handed: the runtime, seen as a port."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from notifier.config import Settings
from notifier.domain.time_source import TimeSource
from notifier.guards.provider_guard import ProviderGuard
from notifier.services.delivery.messages import MessageFactory
from notifier.services.delivery.ports import Dispatch, Providers
from notifier.store.db import SessionFactory


class JobContext(Protocol):
    """The objects a worker or clock process holds (``notifier.runtime.Runtime`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def sessions(self) -> SessionFactory: ...

    @property
    def messages(self) -> MessageFactory: ...

    @property
    def providers(self) -> Providers: ...

    @property
    def dispatch(self) -> Dispatch: ...

    @property
    def time_source(self) -> TimeSource: ...

    @property
    def guard(self) -> ProviderGuard: ...
