"""Registers as spreadsheets, for the import tests."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """An XLSX workbook of one sheet: ``header``, then ``rows``."""
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
