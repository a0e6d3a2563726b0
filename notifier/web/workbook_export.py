"""Rows already read, written as a typed XLSX workbook by the export's child process (a
:class:`notifier.web.export_pool.ExportJob` that reads nothing itself)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import IO, Any

from notifier.domain.xlsx_export import write_xlsx
from notifier.web.export_pool import Databases


@dataclass(frozen=True)
class WorkbookExport:
    """``rows`` (their ``columns``, under ``headers``) as one sheet named ``title``: numbers
    and times as such, the times in ``zone``."""

    rows: Sequence[Mapping[str, Any]]
    columns: Sequence[str]
    title: str
    headers: Sequence[str]
    zone: tzinfo

    def write(self, into: IO[bytes], databases: Databases) -> None:  # noqa: ARG002 - reads none
        """Write the workbook into ``into``."""
        write_xlsx(
            self.rows,
            self.columns,
            title=self.title,
            headers=self.headers,
            typed=True,
            zone=self.zone,
            into=into,
        )
