"""Enterprise registers in other shapes, made into the CSV text the importer reads.

An XLSX workbook (its first sheet, read in openpyxl's read-only mode, at most ``max_rows``
rows) and one enterprise given as a JSON object both become CSV, so every row is checked by
:mod:`notifier.enterprise_csv` and reported the same way, row by row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from notifier.enterprise_csv import HEADER
from notifier.errors import InputError

# Cells an XLSX row may have: more is not a register.
MAX_COLUMNS = 50


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def xlsx_as_csv(content: bytes, *, max_rows: int) -> str:
    """The first sheet of an XLSX file as CSV text (header row first).

    Raises:
        InputError: not an XLSX file, or more than ``max_rows`` data rows.
    """
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(
            f"file: 不是有效的 XLSX 文件 / not an XLSX file ({exc})", field="file"
        ) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise InputError("file: 工作簿没有工作表 / the workbook has no sheet", field="file")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)):
            if number > max_rows:
                raise InputError(
                    f"file: 超过 {max_rows} 行 / more than {max_rows} rows", field="file"
                )
            writer.writerow([_cell_text(value) for value in row])
        return out.getvalue()
    finally:
        workbook.close()


def record_as_csv(values: Mapping[str, Any]) -> str:
    """One enterprise given as an object (lists for the multi-valued columns) as a CSV file of
    one data row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerow(
        [
            ";".join(value)
            if isinstance(value := values.get(column), list | tuple)
            else value or ""
            for column in HEADER
        ]
    )
    return out.getvalue()
