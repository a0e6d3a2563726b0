"""Large exports built in a child process, out of the web server's GIL.

Writing a 40,000-row workbook is seconds of pure Python; done in the web process it takes
the interpreter lock from every page served meanwhile. :class:`ExportPool` hands such a job to
one child process (spawned on first use, kept for the next), which opens its own engine from
the job's database URL and writes a temporary file; the response then streams that file.

One export at a time per web process: another waits up to ``wait`` seconds for its turn, then
gets :class:`ExportBusy` (the console shows "导出繁忙，请稍后再试").
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import IO, Protocol

from notifier.store.db import SessionFactory, create_db_engine, create_session_factory
from notifier.web.streaming import file_chunks

log = logging.getLogger(__name__)


class ExportBusy(Exception):
    """Another export is being built and did not finish within the wait."""


class Databases:
    """The child's session factories, one per database URL, opened on first use and kept:
    the child lives for many jobs."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionFactory] = {}

    def sessions(self, url: str) -> SessionFactory:
        """Sessions on ``url``."""
        if url not in self._sessions:
            engine = create_db_engine(url, reads_only=True)  # an export reads, never writes
            self._sessions[url] = create_session_factory(engine)
        return self._sessions[url]


class ExportJob(Protocol):
    """What a child builds; picklable (it crosses to the child process)."""

    def write(self, into: IO[bytes], databases: Databases) -> None:
        """Write the export into ``into``, reading through ``databases`` if it reads."""


_DATABASES = Databases()  # the child's own: built once per child process


def build_in_child(job: ExportJob, path: str) -> int:
    """Run in the child: write ``job`` to ``path``; the child's process id."""
    with open(path, "wb") as file:
        job.write(file, _DATABASES)
    return os.getpid()


class ExportPool:
    """One child process building exports, one at a time; owned by the web app."""

    def __init__(self, *, wait: float = 30.0) -> None:
        self.wait = wait
        self._turn = threading.BoundedSemaphore(1)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        # The process that built the last export (tests check it is not this one).
        self.last_builder: int | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn: a fresh interpreter, holding none of the server's threads or sockets.
                context = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._executor

    def build(self, job: ExportJob) -> Iterator[bytes]:
        """Build ``job`` in the child and give back the file's chunks; the file is gone once
        read (or the reader stops). Written whole before the first chunk, so an error comes
        before any byte is sent.

        Raises:
            ExportBusy: another export held the child for longer than ``wait`` seconds.
        """
        if not self._turn.acquire(timeout=self.wait):
            raise ExportBusy("another export is being built")
        descriptor, path = tempfile.mkstemp(prefix="notifier-export-")
        os.close(descriptor)
        try:
            self.last_builder = self._pool().submit(build_in_child, job, path).result()
            file = open(path, "rb")  # noqa: SIM115 - closed by the generator below
        finally:
            self._turn.release()
            os.unlink(path)  # an open file stays readable; nothing is left behind
        return file_chunks(file)

    def close(self) -> None:
        """Stop the child (if one was started); exports still running are waited for."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
