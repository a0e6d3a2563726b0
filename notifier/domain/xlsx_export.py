"""XLSX exports of listings, none of whose cells can run as a formula.

Every text is written as a string cell, never a formula, and one that a spreadsheet would
read as a formula also gets Excel's quote prefix, so it shows as typed and stays text when
edited. Lists and mappings are joined as in the CSV export
(:func:`notifier.domain.csv_export.plain`).

Two shapes: the API's (every cell text, as documented) and, with ``typed=True``, the console's
(numbers as number cells, times as date cells in the deployment's zone, so a clerk can sort
and sum them); a text stays a text cell either way.

The rows are written one by one into the file (:mod:`notifier.domain.xlsx_sheet`): a large
export never holds its rows, nor its cells, in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import IO, Any

from notifier.domain.csv_export import FORMULA_STARTS, plain
from notifier.domain.xlsx_sheet import Cell, Text, write_sheet

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd hh:mm"


def _text_cell(value: Any) -> Text:
    text = plain(value)
    return Text(text, quoted=text.startswith(FORMULA_STARTS))


def _typed_cell(value: Any, zone: tzinfo | None) -> Cell:
    if isinstance(value, datetime):
        # Excel has no zones: the local wall time of the deployment is what a clerk expects.
        local = value.astimezone(zone) if zone is not None and value.tzinfo else value
        return local.replace(tzinfo=None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return _text_cell(value)


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

    Parameters:
        headers: the header row's words (default: the column names).
        typed: numbers and times as number and date cells (else every cell is text).
        zone: the zone a time is shown in when ``typed``.
        into: a file to write to instead (a large export: it is not held in memory); then
            ``b""`` is returned.
    """

    def lines() -> Iterator[list[Cell]]:
        yield [_text_cell(header) for header in headers or columns]
        for row in rows:
            if typed:
                yield [_typed_cell(row.get(column), zone) for column in columns]
            else:
                yield [_text_cell(row.get(column)) for column in columns]

    return _saved(title, lines(), into)


def write_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, title: str = "export"
) -> bytes:
    """A header row and rows of cells (in order) as an XLSX file's bytes, every cell text
    (rows given as uploaded, e.g. a register's bad rows with their reasons)."""

    def lines() -> Iterator[list[Cell]]:
        yield [_text_cell(value) for value in header]
        for row in rows:
            yield [_text_cell(value) for value in row]

    return _saved(title, lines())


def _saved(title: str, lines: Iterable[list[Cell]], into: IO[bytes] | None = None) -> bytes:
    if into is not None:
        write_sheet(lines, into, title=title)
        return b""
    out = io.BytesIO()
    write_sheet(lines, out, title=title)
    return out.getvalue()
