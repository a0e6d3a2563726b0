"""An enterprise register saved as XLSX, read as the CSV importer reads a CSV file.

The first sheet's rows become CSV text (the header row included), so the columns, the
Chinese headers and every check are the CSV importer's: an XLSX file gives the same report a
CSV file of the same cells gives.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from notifier.errors import InputError

MAX_XLSX_BYTES = 20_000_000
XLSX_MAGIC = b"PK\x03\x04"


def is_xlsx(data: bytes) -> bool:
    """Whether ``data`` looks like an XLSX workbook (a ZIP file), not CSV text."""
    return data.startswith(XLSX_MAGIC)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number stored as a number
    return str(value)


def xlsx_as_csv(data: bytes) -> io.StringIO:
    """The first sheet of the workbook ``data`` as CSV text.

    Raises:
        InputError: the file is too large or not a readable workbook.
    """
    if len(data) > MAX_XLSX_BYTES:
        raise InputError("file: 文件过大 / XLSX file larger than 20 MB", field="file")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        reason = f"file: 无法读取 XLSX / not a readable XLSX workbook ({exc})"
        raise InputError(reason, field="file") from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            cells = [_text(value) for value in row]
            if any(cells):
                writer.writerow(cells)
    finally:
        book.close()
    out.seek(0)
    return out
