"""The console's mapping step: a register's headings, and the field each is preset to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from notifier.errors import InputError
from notifier.inputs.enterprise_csv import FIELDS, column_of_heading
from notifier.inputs.register_files import open_register
from notifier.services.context import Context
from notifier.services.enterprises.importing import upload_limits
from notifier.store import import_headings

# Data rows shown under the headings, so the clerk sees what each column holds.
SAMPLE_ROWS = 3


@dataclass(frozen=True)
class Proposal:
    """A register's headings, the field each is preset to (``""``: left out) and a few rows."""

    headings: list[str]
    fields: list[str]
    samples: list[list[str]]


def propose(context: Context, source: BinaryIO, *, name: str) -> Proposal:
    """Read an uploaded register (held to the upload bounds) and preset each column: the field
    its heading was last imported as, else the field a known heading names (``所属街道``).

    Raises:
        InputError: (``file``, ``header``) the file is refused whole, or has no header row.
    """
    rows = open_register(source, name=name, limits=upload_limits(context.settings))
    reader = rows()
    try:
        headings = [cell.lstrip("\ufeff").strip() for cell in next(reader, [])]
        samples = [cells for _, cells in zip(range(SAMPLE_ROWS), reader, strict=False)]
    finally:
        reader.close()
    if not any(headings):
        raise InputError("header: 文件是空的 / the file is empty; expected a header row",
                         field="header")  # fmt: skip
    with context.sessions() as session:
        known = import_headings.remembered(session, headings)
    fields = []
    for heading in headings:
        field = known.get(heading[: import_headings.MAX_HEADING])
        if field is None or (field and field not in FIELDS):
            field = column_of_heading(heading) or ""
        fields.append(field if field not in fields or not field else "")
    width = len(headings)
    return Proposal(headings, fields, [(row + [""] * width)[:width] for row in samples])
