"""An engine that only reads (the export's process): on SQLite its transaction holds no write
lock, so a writer goes on beside a long read, and a write through it is refused."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from notifier.store.db import create_db_engine


def test_a_reader_holds_no_write_lock_and_cannot_write(sqlite_url: str):
    reader = create_db_engine(sqlite_url, reads_only=True)
    # timeout 0: a write lock held by the reader would fail this writer at once
    writer = sqlite3.connect(str(make_url(sqlite_url).database), timeout=0, isolation_level=None)
    try:
        with reader.begin() as reading:
            before = reading.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("CREATE TABLE written_beside_a_reader (id INTEGER)")
            writer.execute("COMMIT")
            assert reading.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == before
        with pytest.raises(OperationalError, match="readonly"), reader.begin() as reading:
            reading.execute(text("DELETE FROM audit_log"))
    finally:
        writer.close()
        reader.dispose()
