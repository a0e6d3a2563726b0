"""Files the console offers around an import: the bad rows of a register with the reason of
each (错误原因), and an empty register with the Chinese headings."""

from __future__ import annotations

from typing import BinaryIO

from notifier.domain.xlsx_export import write_table
from notifier.inputs.enterprise_csv import FIELDS, HEADER_WORDS
from notifier.inputs.register_files import open_register
from notifier.services.context import Context
from notifier.services.enterprises.importing import ImportReport, upload_limits

REASON_HEADING = "错误原因"
# The template's columns: a region split into street and community, as registers have it.
TEMPLATE_FIELDS = tuple(field for field in FIELDS if field != "region")


def bad_rows_xlsx(context: Context, source: BinaryIO, *, name: str, report: ImportReport) -> bytes:
    """The register's header and its bad rows only (cells as uploaded, text), each with its
    errors in a last 错误原因 column; ``report`` is the import's, made with ``keep_bad_rows``."""
    rows = open_register(source, name=name, limits=upload_limits(context.settings))
    reader = rows()
    try:
        header = next(reader, [])
        width = len(header)
        picked = (
            [*(cells + [""] * width)[:width], "；".join(report.bad_row_messages[number])]
            for number, cells in enumerate(reader, start=2)
            if number in report.bad_row_messages
        )
        return write_table([*header, REASON_HEADING], picked, title="错误行")
    finally:
        reader.close()


def template_xlsx() -> bytes:
    """An empty register under the Chinese headings the importer knows (no example row: one
    left in would be imported)."""
    header = [HEADER_WORDS[field][0] for field in TEMPLATE_FIELDS]
    return write_table(header, [], title="企业名录")
