"""Leadership for the clock: only one clock runs jobs at a time.

On PostgreSQL a session-level advisory lock is held on a dedicated connection; if that
connection drops, the lock goes with it and another clock takes over. SQLite is the one-process
embedded mode, where the single clock always leads.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_KEY = 0x6E6F7469  # "noti"


class Leadership:
    """Ask :meth:`is_leader` before each job; it takes the lock when it is free."""

    def __init__(self, engine: Engine) -> None:
        # A pool of its own, without pooling: closing the connection must end the session
        # (and so release the lock) rather than hand it back to a pool still holding it.
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self._connection: Connection | None = None
        # The scheduler runs jobs on several threads, each asking here: without this lock two
        # could each open a connection, one orphaning the other while it holds the lock.
        self._guard = threading.RLock()

    def is_leader(self) -> bool:
        """True when this process holds (or just took) the clock lock."""
        if self._engine.dialect.name != "postgresql":
            return True
        with self._guard:
            return self._check()

    def _check(self) -> bool:
        try:
            if self._connection is not None:
                self._connection.scalar(text("SELECT 1"))  # still connected: still holding it
                return True
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}):
                self.release()
                return False
            log.info("this clock is the leader")
            return True
        except DBAPIError:
            log.warning("lost the clock lock with its connection")
            self.release()
            return False

    def release(self) -> None:
        """Give up the lock (closing the connection releases it)."""
        with self._guard:
            if self._connection is not None:
                with contextlib.suppress(DBAPIError):
                    self._connection.close()
                self._connection = None
