"""XLSX exports of listings, none of whose cells can run as a formula.

openpyxl takes a string starting with ``=`` for a formula; here every text is written as a
string cell (``data_type = "s"``) and one that a spreadsheet would read as a formula also gets
Excel's quote prefix, so it shows as typed and stays text when edited. Lists and mappings are
joined as in the CSV export (:func:`notifier.domain.csv_export.plain`).

Two shapes: the API's (every cell text, as documented) and, with ``typed=True``, the console's
(numbers as number cells, times as date cells in the deployment's zone, so a clerk can sort
and sum them); a text stays a text cell either way.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from notifier.domain.csv_export import FORMULA_STARTS, plain

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd hh:mm"


def _text_cell(sheet: Any, value: Any) -> WriteOnlyCell:
    text = plain(value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def _typed_cell(sheet: Any, value: Any, zone: tzinfo | None) -> WriteOnlyCell:
    if isinstance(value, datetime):
        # Excel has no zones: the local wall time of the deployment is what a clerk expects.
        local = value.astimezone(zone) if zone is not None and value.tzinfo else value
        cell = WriteOnlyCell(sheet, value=local.replace(tzinfo=None))
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, int | float) and not isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    return _text_cell(sheet, value)


def write_xlsx(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str = "export",
    headers: Sequence[str] | None = None,
    typed: bool = False,
    zone: tzinfo | None = None,
    into: IO[bytes] | None = None,
) -> bytes:
    """``rows`` (their ``columns``, in order, under a header row) as an XLSX file's bytes.

    Written in openpyxl's write-only mode: rows stream to the file, not held as cell objects.

    Parameters:
        headers: the header row's words (default: the column names).
        typed: numbers and times as number and date cells (else every cell is text).
        zone: the zone a time is shown in when ``typed``.
        into: a file to write to instead (a large export: it is not held in memory); then
            ``b""`` is returned.
    """

    def lines(sheet: Any) -> Iterator[list[WriteOnlyCell]]:
        yield [_text_cell(sheet, header) for header in headers or columns]
        for row in rows:
            if typed:
                yield [_typed_cell(sheet, row.get(column), zone) for column in columns]
            else:
                yield [_text_cell(sheet, row.get(column)) for column in columns]

    return _saved(title, lines, into)


def write_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, title: str = "export"
) -> bytes:
    """A header row and rows of cells (in order) as an XLSX file's bytes, every cell text
    (rows given as uploaded, e.g. a register's bad rows with their reasons)."""

    def lines(sheet: Any) -> Iterator[list[WriteOnlyCell]]:
        yield [_text_cell(sheet, value) for value in header]
        for row in rows:
            yield [_text_cell(sheet, value) for value in row]

    return _saved(title, lines)


def _saved(
    title: str,
    lines: Callable[[Any], Iterable[list[WriteOnlyCell]]],
    into: IO[bytes] | None = None,
) -> bytes:
    # Write-only mode: rows stream to the file, not held as cell objects.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    for line in lines(sheet):
        sheet.append(line)
    if into is not None:
        workbook.save(into)
        return b""
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
