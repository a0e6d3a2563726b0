"""XLSX exports of listings: every value a text cell, so none can run as a formula.

openpyxl takes a string starting with ``=`` for a formula; here every cell is written as a
string (``data_type = "s"``) and one that a spreadsheet would read as a formula also gets
Excel's quote prefix, so it shows as typed and stays text when edited. Lists and mappings are
joined as in the CSV export (:func:`notifier.domain.csv_export.plain`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from notifier.domain.csv_export import FORMULA_STARTS, plain

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text_cell(sheet: Any, value: Any) -> WriteOnlyCell:
    text = plain(value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def write_xlsx(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str = "export"
) -> bytes:
    """``rows`` (their ``columns``, in order, under a header row) as an XLSX file's bytes.

    Written in openpyxl's write-only mode: rows stream to the file, not held as cell objects.
    """
    values = ([row.get(column) for column in columns] for row in rows)
    return write_table(columns, values, title=title)


def write_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, title: str = "export"
) -> bytes:
    """A header row and rows of cells (in order) as an XLSX file's bytes, every cell text."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    sheet.append([_text_cell(sheet, value) for value in header])
    for row in rows:
        sheet.append([_text_cell(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
