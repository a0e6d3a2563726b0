"""Leadership for the clock: only one clock runs jobs at a time.

On PostgreSQL a session-level advisory lock is held on a dedicated connection; if that
connection drops, the lock goes with it and another clock takes over. SQLite is the one-process
embedded mode, where the single clock always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

LOCK_KEY = 0x6E6F7469  # "noti"


class Leadership:
    """Ask :meth:`is_leader` before each job; it takes the lock when it is free."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def is_leader(self) -> bool:
        """True when this process holds (or just took) the clock lock."""
        if self._engine.dialect.name != "postgresql":
            return True
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
                taken = self._connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
                self._connection.commit()
                if not taken:
                    self.release()
                    return False
                log.info("this clock is the leader")
                return True
            self._connection.scalar(text("SELECT 1"))  # still connected, so still holding it
            self._connection.commit()
            return True
        except DBAPIError:
            log.warning("lost the clock lock with its connection")
            self.release()
            return False

    def release(self) -> None:
        """Give up the lock (closing the connection releases it)."""
        if self._connection is not None:
            try:
                self._connection.close()
            except DBAPIError:
                pass
            self._connection = None
