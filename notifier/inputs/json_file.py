"""Decode a JSON input file strictly: what :mod:`json` lets through and no input means is
refused as one :class:`~notifier.errors.InputError` (a key given twice, ``NaN``, a number of
thousands of digits, nesting deep enough to exhaust the stack, a file over a megabyte)."""

from __future__ import annotations

import json
import math
from typing import Any

from notifier.domain.plaintext import shown
from notifier.errors import InputError

MAX_FILE_BYTES = 1_000_000
# Longer integers are never meant; Python refuses to read more than 4,300 digits anyway.
MAX_NUMBER_DIGITS = 15


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            name = shown(key, limit=40)
            raise InputError(f"{name}: appears twice in an object; keep one", field=name)
        result[key] = value
    return result


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise InputError(
            f"not valid JSON: a number of {digits} digits, at most {MAX_NUMBER_DIGITS}",
            field="file",
        )
    return int(text)


def _fraction(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"not valid JSON: the number {shown(text)} is too large", field="file")
    return value


def _constant(name: str) -> Any:
    raise InputError(f"not valid JSON: {name} is not a number JSON allows", field="file")


def read_json_file(content: bytes) -> Any:
    """Decode a JSON input file's bytes (UTF-8, a BOM from Notepad allowed).

    Raises:
        InputError: too large, not UTF-8, or not JSON as an input file allows it.
    """
    if len(content) > MAX_FILE_BYTES:
        raise InputError(f"file: {len(content)} bytes, at most {MAX_FILE_BYTES}", field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"file: not UTF-8 text (byte {exc.start})", field="file") from None
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object_without_repeats,
            parse_int=_integer,
            parse_float=_fraction,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}", field="file") from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", field="file") from None
    return data
