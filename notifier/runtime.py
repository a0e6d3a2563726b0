"""The composition root: what one process holds, built once at its start and handed in.

``Runtime.build(settings)`` makes the engine, the session factory, the renderer and message
factory, the providers (on first use) and the broker with its actors (on first use). The
pipeline never reaches for it: faces and processes hand each function the parts it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from notifier.config import Settings
from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.rendering.messages import Renderer
from notifier.services.context import Actor, Context
from notifier.services.delivery.messages import MessageFactory
from notifier.services.delivery.ports import Dispatch, Providers
from notifier.services.providers.catalog import ProviderCatalog, secret_box
from notifier.store.db import SessionFactory, create_db_engine, create_session_factory

# The broker (dramatiq, its clients, the actors' modules) and the guard (Redis) are imported
# when first used: a command that only reads or stores does not start them.
if TYPE_CHECKING:
    from notifier.domain.secret_box import SecretBox
    from notifier.guards.provider_guard import ProviderGuard
    from notifier.jobs.broker import Queue


@dataclass
class Runtime:
    """The process's settings, database, renderer, providers and broker."""

    settings: Settings
    engine: Engine
    sessions: SessionFactory
    renderer: Renderer
    messages: MessageFactory
    time_source: TimeSource = SYSTEM_TIME
    _providers: ProviderCatalog | None = field(default=None, repr=False)
    _queue: Queue | None = field(default=None, repr=False)
    _guard: ProviderGuard | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, *, time_source: TimeSource = SYSTEM_TIME) -> Runtime:
        """Connect to the database and load templates (providers and broker on first use).

        ``clock`` is the process's one time source (tests hand in a ``ManualTime``).
        """
        engine = create_db_engine(settings.database_url)
        renderer = Renderer(templates_dir=settings.templates_dir)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            renderer=renderer,
            messages=MessageFactory(
                renderer=renderer,
                zone=settings.zone,
                secret_key=settings.secret_key.get_secret_value(),
                public_url=settings.public_url,
                time_source=time_source,
                box=secret_box(settings),
                opt_out=settings.content.opt_out_text,
            ),
            time_source=time_source,
        )

    @property
    def box(self) -> SecretBox:
        """The secret box over ``secrets.keys``: webhook endpoints' own signing secrets."""
        return self.messages.box

    @property
    def providers(self) -> Providers:
        """The configured providers of each channel (rows of the database, then settings)."""
        return self.catalog

    @property
    def catalog(self) -> ProviderCatalog:
        """The providers, re-read from the database when admins change them.

        Read at first use, before a caller opens a transaction of its own (a dry run holds one
        while it previews; on SQLite a second connection would wait for it).
        """
        if self._providers is None:
            catalog = ProviderCatalog(self.sessions, self.settings)
            catalog.load()
            self._providers = catalog
        return self._providers

    @property
    def guard(self) -> ProviderGuard:
        """The providers' circuits and limits: on Redis when there is one, else in process."""
        if self._guard is None:
            from notifier.guards.provider_guard import create_guard

            self._guard = create_guard(self.settings)
        return self._guard

    @property
    def queue(self) -> Queue:
        """The broker and its actors, closed over this runtime."""
        if self._queue is None:
            from notifier.jobs.broker import create_queue

            self._queue = create_queue(self)
        return self._queue

    @property
    def dispatch(self) -> Dispatch:
        """How the pipeline queues work in this process."""
        return self.queue

    def context(self, actor: Actor) -> Context:
        """The context one operation of ``actor`` runs in (see :mod:`notifier.services.context`)."""
        return Context(process=self, actor=actor)

    def close(self) -> None:
        """Close providers, the broker and the database pool."""
        if self._queue is not None:
            self._queue.close()
        if self._providers is not None:
            self._providers.close()
        self.engine.dispose()
