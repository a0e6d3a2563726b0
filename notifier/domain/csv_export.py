"""CSV exports of listings, safe to open in a spreadsheet.

A cell that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is written with a leading ``'``, as OWASP advises against CSV
injection: an enterprise named ``=HYPERLINK(...)`` shows as text, never runs. Lists become
``;``-separated cells (as the import reads them) and mappings ``key=value`` pairs. UTF-8 with a
BOM, so Excel on Chinese Windows reads the Chinese right.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> str:
    """One value as the text of a cell: lists ``;``-joined, mappings as ``key=value`` pairs."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ";".join(cell(v) for v in value)
    return str(value)


def cell(value: Any) -> str:
    """One value as a safe CSV cell."""
    text = plain(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    stream: TextIO | None = None,
    *,
    headers: Sequence[str] | None = None,
) -> None:
    """Write ``rows`` (their ``columns``, in order) as CSV under a header row (``headers``,
    by default the column names)."""
    out = stream or sys.stdout
    for chunk in csv_chunks(rows, columns, headers=headers):
        out.write(chunk)


def csv_chunks(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    headers: Sequence[str] | None = None,
    every: int = 1_000,
) -> Iterator[str]:
    """The CSV of :func:`write_csv` in pieces of ``every`` rows (the BOM and header first),
    for a response that streams as the rows are read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([cell(header) for header in headers or columns])
    for n, row in enumerate(rows, start=1):
        writer.writerow([cell(row.get(column)) for column in columns])
        if n % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
