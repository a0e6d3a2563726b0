"""GB/T 4754-2017 industry codes and their hierarchy.

A code is a section letter followed by 0, 2, 3 or 4 digits: ``C`` (section), ``C36`` (division),
``C367`` (group), ``C3670`` (class). The first two digits name the division, and every division
belongs to exactly one section, so the letter can be derived from bare digits (``36`` -> ``C36``).
The package ships the whole catalogue (20 sections, 97 divisions, 473 groups, 1,381 classes with
their Chinese names, ``data/gbt4754-2017.csv``). What a clerk targets must be in it
(:func:`catalogued_sector`); a register's codes need only a known division.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from dataclasses import dataclass
from importlib.resources import files

from notifier.errors import InputError

__all__ = [
    "Sector",
    "catalogue",
    "catalogued_sector",
    "code_of_name",
    "is_under",
    "normalize_sector",
    "sector_name",
]

_TABLE = "gbt4754-2017.csv"
_FIELD = "sectors"
_DIGIT_COUNTS = (0, 2, 3, 4)


@dataclass(frozen=True)
class Sector:
    """One entry of the catalogue, in its canonical lettered form (``C3670``)."""

    code: str
    level: str  # section, division, group or class
    name_zh: str


@dataclass(frozen=True)
class _Table:
    sections: dict[str, str]  # letter -> Chinese name
    divisions: dict[str, tuple[str, str]]  # two digits -> (section letter, Chinese name)
    names: dict[str, str]  # bare digits of every division, group and class -> Chinese name
    entries: tuple[Sector, ...]  # the whole catalogue in the standard's order


@functools.cache
def _table() -> _Table:
    """Load the shipped catalogue once per process."""
    text = (files("notifier") / "data" / _TABLE).read_text(encoding="utf-8-sig")
    sections: dict[str, str] = {}
    divisions: dict[str, tuple[str, str]] = {}
    names: dict[str, str] = {}
    entries: list[Sector] = []
    for row in csv.DictReader(io.StringIO(text)):
        code, level, name = row["code"], row["level"], row["name_zh"]
        if level == "section":
            sections[code] = name
            entries.append(Sector(code, level, name))
            continue
        if level == "division":
            divisions[code] = (row["parent"], name)
        names[code] = name
        entries.append(Sector(divisions[code[:2]][0] + code, level, name))
    return _Table(sections=sections, divisions=divisions, names=names, entries=tuple(entries))


def catalogue() -> tuple[Sector, ...]:
    """Every section, division, group and class of GB/T 4754-2017, in the standard's order."""
    return _table().entries


@functools.cache
def _by_name() -> dict[str, str]:
    codes: dict[str, str] = {}
    for entry in _table().entries:
        codes.setdefault(entry.name_zh, entry.code)  # a group named as its only class: the group
    return codes


def code_of_name(word: str) -> str:
    """The code of the catalogue entry named exactly ``word`` (``汽车制造业`` -> ``C36``), or
    ``word`` unchanged when no entry has that name (a code, or a typo the reader refuses)."""
    return _by_name().get(word.strip(), word)


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
        InputError: (field ``"sectors"``) for a bad shape, an unknown section, division, group or
            class (``C3699``), or a division written under the wrong section (``A36``).
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


def catalogued_sector(code: str) -> str:
    """:func:`normalize_sector`, and refuse a group or class the catalogue does not have.

    What people choose (a policy's or a campaign's targets) must be in the catalogue; the
    register keeps :func:`normalize_sector`'s looser check, since a firm's code may come from
    the 2011 edition (``C3610``) and still falls under its division.

    Raises:
        InputError: (field ``"sectors"``) as :func:`normalize_sector`, or for a code such as
            ``C3699`` that is not in GB/T 4754-2017.
    """
    normalized = normalize_sector(code)
    if len(normalized) > 1 and normalized[1:] not in _table().names:
        raise InputError(
            f"行业代码 {normalized} 不在 GB/T 4754-2017 中 / sector code {normalized!r} is not "
            "a group or class of GB/T 4754-2017",
            field=_FIELD,
        )
    return normalized


def sector_name(code: str) -> str | None:
    """Return the Chinese name of a code (section, division, group or class), for display.

    A group or class missing from the catalogue gets its nearest known parent's name; an
    invalid code gets ``None``.
    """
    try:
        normalized = normalize_sector(code)
    except InputError:
        return None
    table = _table()
    if len(normalized) == 1:
        return table.sections[normalized]
    digits = normalized[1:]
    while digits not in table.names:
        digits = digits[:-1]  # the division is always known
    return table.names[digits]


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
    for the OpenAPI schema (looser than the catalogue; the reader checks the rest)."""
    table = _table()
    divisions = "|".join(
        f"{section}{code}" for code, (section, _) in sorted(table.divisions.items())
    )
    return rf"^(?:[{''.join(sorted(table.sections))}]|(?:{divisions})[0-9]{{0,2}})$"
