"""GB/T 4754-2017 industry codes and their hierarchy.

A code is a section letter followed by 0, 2, 3 or 4 digits: ``C`` (section), ``C36`` (division),
``C367`` (group), ``C3670`` (class). The first two digits name the division, and every division
belongs to exactly one section, so the letter can be derived from bare digits (``36`` -> ``C36``).
The package ships the sections and divisions; groups and classes are accepted when their division
is known.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from dataclasses import dataclass
from importlib.resources import files

from notifier.errors import InputError

__all__ = ["is_under", "normalize_sector", "sector_name"]

_TABLE = "gbt4754-2017-divisions.csv"
_FIELD = "sectors"
_DIGIT_COUNTS = (0, 2, 3, 4)


@dataclass(frozen=True)
class _Table:
    sections: dict[str, str]  # letter -> Chinese name
    divisions: dict[str, tuple[str, str]]  # two digits -> (section letter, Chinese name)


@functools.cache
def _table() -> _Table:
    """Load the shipped sections and divisions once per process."""
    text = (files("notifier") / "data" / _TABLE).read_text(encoding="utf-8-sig")
    sections: dict[str, str] = {}
    divisions: dict[str, tuple[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["level"] == "section":
            sections[row["code"]] = row["name_zh"]
        else:
            divisions[row["code"]] = (row["parent"], row["name_zh"])
    return _Table(sections=sections, divisions=divisions)


def _split(code: str) -> tuple[str, str, str]:
    """Return (cleaned code, letter or "", digits), or raise InputError for a bad shape."""
    # NFKC turns full-width input typed with a Chinese IME ("Ｃ３６") into ASCII.
    cleaned = unicodedata.normalize("NFKC", code).strip().upper()
    if not cleaned:
        raise InputError("sector code is empty", field=_FIELD)
    letter = cleaned[0] if cleaned[0].isalpha() else ""
    digits = cleaned[len(letter) :]
    if digits and not (digits.isascii() and digits.isdigit()):
        raise InputError(
            f"sector code {code.strip()!r} must be a section letter followed by digits",
            field=_FIELD,
        )
    if len(digits) not in _DIGIT_COUNTS:
        raise InputError(
            f"sector code {code.strip()!r} has {len(digits)} digit(s); expected 2, 3 or 4 "
            "(or a section letter alone)",
            field=_FIELD,
        )
    return cleaned, letter, digits


def normalize_sector(code: str) -> str:
    """Return the canonical lettered form of a sector code.

    Parameters:
        code: ``C``, ``C36``, ``c367``, ``C3670`` or the bare digits ``36``, ``367``, ``3670``.

    Returns:
        The code with its section letter, upper case, e.g. ``"C3670"``.

    Raises:
        InputError: (field ``"sectors"``) for a bad shape, an unknown section or division, or a
            division written under the wrong section (``A36``).
    """
    cleaned, letter, digits = _split(code)
    table = _table()
    if letter and letter not in table.sections:
        raise InputError(f"unknown section {letter!r} in sector code {cleaned!r}", field=_FIELD)
    if not digits:
        return letter
    division = digits[:2]
    if division not in table.divisions:
        raise InputError(f"unknown division {division!r} in sector code {cleaned!r}", field=_FIELD)
    section = table.divisions[division][0]
    if letter and letter != section:
        raise InputError(
            f"division {division} belongs to section {section}, not {letter} "
            f"(sector code {cleaned!r})",
            field=_FIELD,
        )
    return section + digits


def sector_name(code: str) -> str | None:
    """Return the Chinese name of a code's section or division, for display.

    Groups and classes get their division's name; an invalid code gets ``None``.
    """
    try:
        normalized = normalize_sector(code)
    except InputError:
        return None
    table = _table()
    if len(normalized) == 1:
        return table.sections[normalized]
    return table.divisions[normalized[1:3]][1]


def is_under(code: str, prefix: str) -> bool:
    """Return whether ``code`` lies within ``prefix`` in the hierarchy (a code is under itself).

    Both are normalized first, so ``is_under("3670", "C36")`` is true.

    Raises:
        InputError: when either is not a valid sector code.
    """
    return normalize_sector(code).startswith(normalize_sector(prefix))


@functools.cache
def sector_pattern() -> str:
    """A regular expression that the codes :func:`normalize_sector` accepts in their canonical
    form match (a section letter, or a known division with its letter and 0-2 more digits):
    for the OpenAPI schema."""
    table = _table()
    divisions = "|".join(
        f"{section}{code}" for code, (section, _) in sorted(table.divisions.items())
    )
    return rf"^(?:[{''.join(sorted(table.sections))}]|(?:{divisions})[0-9]{{0,2}})$"
