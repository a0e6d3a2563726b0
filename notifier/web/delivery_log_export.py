"""The delivery log's export as a job for :class:`notifier.web.export_pool.ExportPool`: what
the console and the API both export (their rows differ, made by ``convert``), written as XLSX
or CSV by whichever process runs it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import IO, Any, Literal

from sqlalchemy.orm import Session

from notifier.domain.csv_export import csv_chunks
from notifier.domain.xlsx_export import write_xlsx
from notifier.store import deliveries as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import Delivery
from notifier.web.export_pool import Databases

Convert = Callable[[Session, list[Delivery]], Iterable[Mapping[str, Any]]]


@dataclass(frozen=True)
class DeliveryLogExport:
    """Up to ``limit`` deliveries matching ``filters``, newest first, read ``page`` at a time
    and made rows by ``convert`` (a module-level function or a ``partial`` of one: it crosses
    to the child process)."""

    database_url: str
    filters: DeliveryFilter
    format: Literal["csv", "xlsx"]
    convert: Convert
    columns: Sequence[str]
    limit: int
    page: int
    headers: Sequence[str] | None = None
    typed: bool = False  # XLSX: numbers and times as such, the times in ``zone``
    zone: tzinfo | None = None

    def write(self, into: IO[bytes], databases: Databases) -> None:
        """Read the deliveries and write the file into ``into``."""
        rows = store.in_pages(
            databases.sessions(self.database_url),
            self.filters,
            self.convert,
            limit=self.limit,
            size=self.page,
        )
        if self.format == "xlsx":
            write_xlsx(
                rows,
                self.columns,
                title="deliveries",
                headers=self.headers,
                typed=self.typed,
                zone=self.zone,
                into=into,
            )
            return
        for text in csv_chunks(rows, self.columns, headers=self.headers):
            into.write(text.encode("utf-8"))
