"""What a running process holds: settings, database, channels and renderer.

Built once at start (``notifier worker``, ``clock``, ``run`` and the commands that send), then
reached by the thin actors through :func:`current`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from notifier.channels.base import Channel
from notifier.config import Settings
from notifier.db import SessionFactory, create_db_engine, create_session_factory
from notifier.rendering import Renderer

if TYPE_CHECKING:
    from notifier.jobs.broker import Queue


@dataclass
class Runtime:
    """The process-wide objects the jobs need."""

    settings: Settings
    engine: Engine
    sessions: SessionFactory
    renderer: Renderer
    _channels: dict[str, Channel] | None = field(default=None, repr=False)
    _queue: Queue | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Connect to the database and load templates (channels are built on first use)."""
        engine = create_db_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            renderer=Renderer(settings=settings),
        )

    @property
    def channels(self) -> dict[str, Channel]:
        """The configured channel for each of sms, email and webhook."""
        if self._channels is None:
            from notifier.channels.registry import build_channels

            self._channels = build_channels(self.settings)
        return self._channels

    @property
    def queue(self) -> Queue:
        """The broker and its actors (built on first use)."""
        if self._queue is None:
            from notifier.jobs.broker import create_queue

            self._queue = create_queue(self.settings)
        return self._queue

    def close(self) -> None:
        """Close channels, the broker and the database pool."""
        if self._queue is not None:
            self._queue.close()
        for channel in (self._channels or {}).values():
            channel.close()
        self.engine.dispose()


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Make ``runtime`` the one the actors use (None to remove it)."""
    global _current
    _current = runtime


def current() -> Runtime:
    """The installed runtime.

    Raises:
        RuntimeError: no runtime was installed (a process started without one).
    """
    if _current is None:
        raise RuntimeError("no notifier runtime installed in this process")
    return _current
