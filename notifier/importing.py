"""Import enterprises from CSV: validate every row, store the good ones, report the bad ones."""

from __future__ import annotations

import codecs
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from notifier.db import SessionFactory
from notifier.endpoint_secrets import provision
from notifier.enterprise_csv import EnterpriseRecord, RowError, iter_enterprise_rows
from notifier.errors import InputError
from notifier.models.base import utcnow
from notifier.secret_box import SecretBox
from notifier.store import enterprises

# Rows stored per transaction: large enough that a chunk's few statements cost little per row.
CHUNK = 2000
# Processes that check rows beside the one that stores them (1: check them all here).
CHECKERS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
# After an import that created this many enterprises, the planner's statistics are refreshed.
REFRESH_STATISTICS_AFTER = 10_000
# Excel in a Chinese locale saves CSV as GBK, for which GB18030 is the standard superset.
ENCODINGS = ("utf-8-sig", "gb18030")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 16):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """The encoding the whole file decodes in: UTF-8 (with or without BOM), else GB18030.

    Raises:
        InputError: the file is neither, so nothing of it is imported.
    """
    for encoding in ENCODINGS:
        if _decodes(path, encoding):
            return encoding
    raise InputError("file: not UTF-8 or GB18030 (GBK) text; save it as CSV UTF-8", field="file")


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    dry_run: bool
    created: int = 0
    updated: int = 0
    kept_unsubscribed: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "kept_unsubscribed": self.kept_unsubscribed,
            "bad_rows": len({e.row for e in self.errors}),
            "errors": [{"row": e.row, "field": e.field, "reason": e.reason} for e in self.errors],
        }


def _store(
    sessions: SessionFactory,
    records: list[EnterpriseRecord],
    report: ImportReport,
    box: SecretBox | None,
) -> None:
    with sessions() as session:
        for result in enterprises.upsert_enterprises(session, records):
            report.created += result.created
            report.updated += not result.created
            report.kept_unsubscribed += bool(result.kept_unsubscribed)
        if box is not None:  # new and changed webhook endpoints get their own signing secret
            provision(session, box, [r.credit_code for r in records], utcnow())
        # A dry run goes through the same writes, then throws them away: its counts are exact.
        if report.dry_run:
            session.rollback()
        else:
            session.commit()


def import_enterprises(
    sessions: SessionFactory, stream: TextIO, *, dry_run: bool, box: SecretBox | None = None
) -> ImportReport:
    """Import a CSV stream, committing good rows in chunks.

    With ``box`` (the runtime's), every new or changed webhook endpoint gets its own signing
    secret in the same transaction (:func:`notifier.endpoint_secrets.provision`).

    Rows are checked in ``CHECKERS`` worker processes while this one stores the rows checked
    before them; a file of one batch (1,000 rows) or less is checked here, with no process
    started. The workers are spawned, so a script that calls this must guard its entry point
    (``if __name__ == "__main__":``), as ``notifier`` does.

    Raises:
        InputError: the file as a whole cannot be read (missing columns, not CSV).
    """
    report = ImportReport(dry_run=dry_run)
    chunk: list[EnterpriseRecord] = []
    with _checkers() as executor:
        for item in iter_enterprise_rows(stream, executor=executor):
            if isinstance(item, RowError):
                report.errors.append(item)
                continue
            chunk.append(item)
            if len(chunk) >= CHUNK:
                _store(sessions, chunk, report, box)
                chunk = []
    _store(sessions, chunk, report, box)
    if report.created >= REFRESH_STATISTICS_AFTER and not dry_run:
        with sessions() as session:
            enterprises.refresh_statistics(session)
            session.commit()
    return report


def _checkers() -> AbstractContextManager[Executor | None]:
    if CHECKERS <= 1:
        return nullcontext()
    # "spawn": a fresh interpreter, so no lock or connection of this process is copied into it.
    return ProcessPoolExecutor(CHECKERS, mp_context=multiprocessing.get_context("spawn"))
