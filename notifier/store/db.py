"""Engine and sessions. The caller owns the transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def _prepare_sqlite(url: str) -> dict[str, Any]:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # Worker threads share the engine; each takes its own pooled connection.
    return {"connect_args": {"check_same_thread": False, "timeout": 30}}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy issues BEGIN itself (see _sqlite_begin); pysqlite must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL stays consistent; a power cut may lose the last commits, and a message
    # whose record is lost is sent again under the same idempotency key.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another thread committed in between; taking the write lock up front makes writers
    # queue behind busy_timeout instead. Embedded mode trades concurrency for correctness here.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_read(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # a reader that tries to write fails, loudly
    cursor.close()


def _sqlite_begin_read(connection: Any) -> None:
    # In WAL mode a deferred transaction reads its own snapshot without taking the write lock:
    # a long reader (an export) holds up neither the writers nor the other readers.
    connection.exec_driver_sql("BEGIN")


def create_db_engine(url: str, *, reads_only: bool = False, **options: Any) -> Engine:
    """Create the engine for ``url`` (SQLite or PostgreSQL) with the settings each needs.

    ``reads_only``: for a process that only reads (the export's); on SQLite its transactions
    take no write lock and a write through it is refused.
    """
    if url.startswith("sqlite"):
        options = {**_prepare_sqlite(url), **options}
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        if reads_only:
            event.listen(engine, "connect", _sqlite_read)
        event.listen(engine, "begin", _sqlite_begin_read if reads_only else _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def create_session_factory(engine: Engine) -> SessionFactory:
    """Sessions that keep loaded values after commit (rows are read, then sent)."""
    return sessionmaker(engine, expire_on_commit=False)
