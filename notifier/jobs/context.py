"""What the actors and clock jobs of a process are handed: the runtime, seen as a port."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from notifier.config import Settings
from notifier.db import SessionFactory
from notifier.failover import ProviderGuard
from notifier.messages import MessageFactory
from notifier.ports import Dispatch, Providers
from notifier.time_source import Clock


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
    def clock(self) -> Clock: ...

    @property
    def guard(self) -> ProviderGuard: ...
