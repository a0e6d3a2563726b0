"""The composition root: what one process holds, built once at its start and handed in.

``Runtime.build(settings)`` makes the engine, the session factory, the renderer and message
factory, the providers (on first use) and the broker with its actors (on first use). The
pipeline never reaches for it: faces and processes hand each function the parts it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from notifier.channels.base import Channel
from notifier.config import Settings
from notifier.db import SessionFactory, create_db_engine, create_session_factory
from notifier.jobs.broker import Queue, create_queue
from notifier.messages import MessageFactory
from notifier.ports import Dispatch, Providers
from notifier.rendering import Renderer


class _ChannelProviders:
    """One provider per channel, from the settings (transitional, until provider sets)."""

    def __init__(self, channels: dict[str, Channel]) -> None:
        self._channels = channels

    def for_channel(self, channel: str) -> list[Channel]:
        found = self._channels.get(channel)
        return [found] if found is not None else []

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


@dataclass
class Runtime:
    """The process's settings, database, renderer, providers and broker."""

    settings: Settings
    engine: Engine
    sessions: SessionFactory
    renderer: Renderer
    messages: MessageFactory
    _providers: _ChannelProviders | None = field(default=None, repr=False)
    _queue: Queue | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Connect to the database and load templates (providers and broker on first use)."""
        engine = create_db_engine(settings.database_url)
        renderer = Renderer(settings=settings)
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
            ),
        )

    @property
    def providers(self) -> Providers:
        """The configured providers of each channel."""
        if self._providers is None:
            from notifier.channels.registry import build_channels

            self._providers = _ChannelProviders(build_channels(self.settings))
        return self._providers

    @property
    def queue(self) -> Queue:
        """The broker and its actors, closed over this runtime."""
        if self._queue is None:
            self._queue = create_queue(self)
        return self._queue

    @property
    def dispatch(self) -> Dispatch:
        """How the pipeline queues work in this process."""
        return self.queue

    def close(self) -> None:
        """Close providers, the broker and the database pool."""
        if self._queue is not None:
            self._queue.close()
        if self._providers is not None:
            self._providers.close()
        self.engine.dispose()
