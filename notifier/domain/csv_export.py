"""CSV exports of listings, safe to open in a spreadsheet.

A cell that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is written with a leading ``'``, as OWASP advises against CSV
injection: an enterprise named ``=HYPERLINK(...)`` shows as text, never runs. Lists become
``;``-separated cells (as the import reads them) and mappings ``key=value`` pairs. UTF-8 with a
BOM, so Excel on Chinese Windows reads the Chinese right.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Mapping, Sequence
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
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(header) for header in headers or columns])
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
