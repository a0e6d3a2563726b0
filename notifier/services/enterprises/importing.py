"""Import enterprises from a register (CSV or XLSX): validate every row, store the good ones,
report the bad ones (the first ``max_reported_errors`` of them, and how many more there were).

An import is one transaction: its rows and its audit row are stored together or not at all."""

from __future__ import annotations

import codecs
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from sqlalchemy.orm import Session

from notifier.config import Settings
from notifier.domain.secret_box import SecretBox
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import (
    ENCODINGS,
    NOT_TEXT,
    EnterpriseRecord,
    RowError,
    csv_rows,
    iter_register_rows,
    with_header,
)
from notifier.inputs.register_files import RegisterLimits, open_register
from notifier.services import audit
from notifier.services.context import Context
from notifier.services.providers.endpoint_secrets import provision
from notifier.store import enterprises, import_headings
from notifier.store.db import SessionFactory
from notifier.store.models.base import utcnow

# Rows stored per transaction: large enough that a chunk's few statements cost little per row.
CHUNK = 2000
# Processes that check rows beside the one that stores them (1: check them all here).
CHECKERS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
# After an import that created this many enterprises, the planner's statistics are refreshed.
REFRESH_STATISTICS_AFTER = 10_000
# Errors a report lists unless told otherwise (the settings say 1,000 as well).
MAX_REPORTED_ERRORS = 1_000
# A reason longer than this is cut in the report (a bad list repeats itself per item).
MAX_REASON_CHARS = 500


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
    raise InputError(NOT_TEXT, field="file")


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do).

    ``errors`` holds the first ``max_errors`` row errors; ``errors_left_out`` counts the rest,
    and ``bad_rows`` every bad row.
    """

    dry_run: bool
    created: int = 0
    updated: int = 0
    kept_unsubscribed: int = 0
    errors: list[RowError] = field(default_factory=list)
    bad_rows: int = 0
    errors_left_out: int = 0
    max_errors: int = field(default=MAX_REPORTED_ERRORS, repr=False)
    # With ``keep_bad_rows``: every bad row's messages, by row number (the bad-rows download).
    keep_bad_rows: bool = field(default=False, repr=False)
    bad_row_messages: dict[int, list[str]] = field(default_factory=dict, repr=False)
    _last_bad_row: int = field(default=0, repr=False)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    def add_error(self, error: RowError) -> None:
        """Count a row error; keep it while the report has room."""
        if error.row != self._last_bad_row:  # a row's errors come together, rows in order
            self.bad_rows += 1
            self._last_bad_row = error.row
        if self.keep_bad_rows:
            self.bad_row_messages.setdefault(error.row, []).append(error.message)
        if len(self.errors) >= self.max_errors:
            self.errors_left_out += 1
            return
        if len(error.reason) > MAX_REASON_CHARS:
            error = RowError(error.row, error.field, error.reason[:MAX_REASON_CHARS] + "…")
        self.errors.append(error)

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "kept_unsubscribed": self.kept_unsubscribed,
            "bad_rows": self.bad_rows,
            "errors": [
                {"row": e.row, "field": e.field, "reason": e.reason, "message": e.message}
                for e in self.errors
            ],
            "errors_left_out": self.errors_left_out,
        }


def upload_limits(settings: Settings) -> RegisterLimits:
    """The bounds of a register uploaded through the API or the console."""
    return _limits(
        settings, max_rows=settings.web.max_import_rows, max_bytes=settings.web.max_body_bytes
    )


def file_limits(settings: Settings) -> RegisterLimits:
    """The bounds of a register read from a local file by ``notifier enterprises import``."""
    return _limits(
        settings, max_rows=settings.imports.max_file_rows, max_bytes=settings.imports.max_file_bytes
    )


def _limits(settings: Settings, *, max_rows: int, max_bytes: int) -> RegisterLimits:
    imports = settings.imports
    return RegisterLimits(
        max_rows=max_rows,
        max_bytes=max_bytes,
        max_row_chars=imports.max_row_chars,
        max_cell_chars=imports.max_cell_chars,
        max_members=imports.max_xlsx_members,
        max_member_bytes=imports.max_xlsx_member_bytes,
        max_unpacked_bytes=imports.max_xlsx_unpacked_bytes,
        max_ratio=imports.max_xlsx_ratio,
        max_shared_strings_bytes=imports.max_xlsx_shared_strings_bytes,
        max_text_chars=imports.max_xlsx_text_chars,
    )


def import_register(
    context: Context,
    source: BinaryIO,
    *,
    name: str,
    dry_run: bool,
    mapping: Sequence[str] | None = None,
    keep_bad_rows: bool = False,
) -> ImportReport:
    """Import a register file (CSV or XLSX, told by its first bytes): the one import of the API,
    the console and the command line, audited ``enterprise.import``.

    The file is checked whole first (``open_register``: its size, format and the shape of every
    row), so a file refused as a whole stores nothing. Its good rows, their webhook endpoints'
    own signing secrets and the audit row are stored in one transaction: all or nothing. A file
    on the operator's disk (the CLI) may be larger than an upload (``imports.max_file_*`` rather
    than ``web.max_import_rows`` and ``web.max_body_bytes``).

    ``mapping`` (the console's mapping step) names the field of each of the sheet's columns in
    order (``""``: left out) in place of its header row; it is remembered for the next upload
    (:func:`notifier.services.enterprises.mapping.propose`). Street and community columns are
    joined under ``imports.region_prefix``. With ``keep_bad_rows`` the report keeps every bad
    row's messages, for :func:`notifier.services.enterprises.bad_rows.bad_rows_xlsx`.

    Raises:
        InputError: (``file``, ``header``) the file as a whole is refused; the message says why,
            or the actor is not the district's (a community's staff edit their firms one by one).
    """
    if not context.scope.district:
        raise InputError(
            "file: 企业名录由区里导入 / the register is imported by the district office",
            field="file",
        )
    settings = context.settings
    local = context.actor.face == "cli"
    limits = file_limits(settings) if local else upload_limits(settings)
    rows = open_register(source, name=name, limits=limits)
    report = ImportReport(
        dry_run=dry_run,
        max_errors=settings.imports.max_reported_errors,
        keep_bad_rows=keep_bad_rows,
    )
    # closing: a refused header leaves the reader unfinished; close it now.
    with closing(rows()) as again, context.sessions() as session:
        headings = next(again, None)
        fields = list(mapping) if mapping is not None and headings is not None else headings
        store_rows(
            session,
            with_header(again, fields),
            report,
            max_cell_chars=limits.max_cell_chars,
            box=context.box,
            region_prefix=settings.imports.region_prefix,
        )
        if mapping is not None and headings is not None and not dry_run:
            chosen = zip(headings, mapping, strict=False)
            remembered = {heading.lstrip("\ufeff").strip(): field for heading, field in chosen}
            import_headings.remember(session, remembered, context.time_source.now())
        if dry_run:  # the same writes, thrown away: the counts are exact
            session.rollback()
            return report
        counts = {k: v for k, v in report.as_dict().items() if k != "errors"}
        audit.record(
            session, context, action="enterprise.import", target_type="enterprise",
            target_id=name, after=counts,
        )  # fmt: skip
        session.commit()
    _refresh_statistics(context.sessions, report)
    return report


def import_enterprises(
    sessions: SessionFactory, stream: TextIO, *, dry_run: bool, box: SecretBox | None = None
) -> ImportReport:
    """Import a CSV stream in one transaction, unaudited: how the demo and the tests load
    enterprises (an operator imports with :func:`import_register`).

    With ``box`` (the runtime's), every new or changed webhook endpoint gets its own signing
    secret in the same transaction (:func:`notifier.services.providers.endpoint_secrets.provision`).

    Raises:
        InputError: the file as a whole cannot be read (missing columns, not CSV).
    """
    report = ImportReport(dry_run=dry_run)
    with sessions() as session:
        store_rows(session, csv_rows(stream), report, box=box)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    _refresh_statistics(sessions, report)
    return report


def store_rows(
    session: Session,
    rows: Iterator[list[str]],
    report: ImportReport,
    *,
    max_cell_chars: int | None = None,
    box: SecretBox | None = None,
    region_prefix: str = "",
) -> None:
    """Check the rows and write the good ones in ``session``, a chunk at a time (the caller
    commits or rolls back).

    Rows are checked in ``CHECKERS`` worker processes while this one stores the rows checked
    before them; a file of one batch (1,000 rows) or less is checked here, with no process
    started. The workers are spawned, so a script that calls this must guard its entry point
    (``if __name__ == "__main__":``), as ``notifier`` does.
    """
    chunk: list[EnterpriseRecord] = []
    with _checkers() as executor:
        checked = iter_register_rows(
            rows, executor=executor, max_cell_chars=max_cell_chars, region_prefix=region_prefix
        )
        for item in checked:
            if isinstance(item, RowError):
                report.add_error(item)
                continue
            chunk.append(item)
            if len(chunk) >= CHUNK:
                _store(session, chunk, report, box)
                chunk = []
    _store(session, chunk, report, box)


def _store(
    session: Session, records: list[EnterpriseRecord], report: ImportReport, box: SecretBox | None
) -> None:
    for result in enterprises.upsert_enterprises(session, records):
        report.created += result.created
        report.updated += not result.created
        report.kept_unsubscribed += bool(result.kept_unsubscribed)
    if box is not None:  # new and changed webhook endpoints get their own signing secret
        provision(session, box, [r.credit_code for r in records], utcnow())


def _refresh_statistics(sessions: SessionFactory, report: ImportReport) -> None:
    if report.created >= REFRESH_STATISTICS_AFTER and not report.dry_run:
        with sessions() as session:
            enterprises.refresh_statistics(session)
            session.commit()


def _checkers() -> AbstractContextManager[Executor | None]:
    if CHECKERS <= 1:
        return nullcontext()
    # "spawn": a fresh interpreter, so no lock or connection of this process is copied into it.
    return ProcessPoolExecutor(CHECKERS, mp_context=multiprocessing.get_context("spawn"))
