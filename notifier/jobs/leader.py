"""Leadership for the clock: only one clock runs jobs at a time.

On PostgreSQL a session-level advisory lock is held on one dedicated connection; if that
connection drops, the lock goes with it and another clock takes over. SQLite is the one-process
embedded mode, where the single clock always leads.

APScheduler runs the clock's jobs in a thread pool, so several threads ask at once: a lock
makes each question (and :meth:`Leadership.release`) one step, so the object never opens a
second connection beside the one that holds the advisory lock, and never closes the wrong one.
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

# Still holding it: the session lives and the server lists our backend as the lock's holder.
_HOLDING = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objid = :k)"
)


class Leadership:
    """Ask :meth:`is_leader` before each job; it takes the lock when it is free. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        # A pool of its own, without pooling: closing the connection must end the session
        # (and so release the lock) rather than hand it back to a pool still holding it.
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self._connection: Connection | None = None  # set only while it holds the lock
        self._mutex = threading.Lock()

    def is_leader(self) -> bool:
        """True when this process holds (or just took) the clock lock.

        A leader whose connection died answers False once (leadership is lost with the
        connection) and tries to take the lock again on a later call.
        """
        if self._engine.dialect.name != "postgresql":
            return True
        with self._mutex:
            if self._connection is None:
                return self._try_to_lead()
            if self._still_holding(self._connection):
                return True
            log.warning("lost the clock lock with its connection")
            self._close()
            return False

    def release(self) -> None:
        """Give up the lock (closing the connection releases it)."""
        with self._mutex:
            self._close()

    def _try_to_lead(self) -> bool:
        try:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            log.warning("cannot reach the database to take the clock lock")
            return False
        try:
            taken = connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
        except DBAPIError:
            taken = False
        if not taken:
            _close_quietly(connection)
            return False
        self._connection = connection
        log.info("this clock is the leader")
        return True

    @staticmethod
    def _still_holding(connection: Connection) -> bool:
        try:
            return bool(connection.scalar(_HOLDING, {"k": LOCK_KEY}))
        except DBAPIError:
            return False

    def _close(self) -> None:
        if self._connection is not None:
            _close_quietly(self._connection)
            self._connection = None


def _close_quietly(connection: Connection) -> None:
    with contextlib.suppress(DBAPIError):
        connection.close()
