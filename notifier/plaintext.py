"""Which characters a stored or printed text may hold.

Control characters do harm far from where they came in: a NUL aborts a PostgreSQL transaction
(and with it a whole import), an ESC or C1 sequence rewrites a staff member's terminal, and a
bidi override (U+202E) shows a title or a credit code reversed. The readers refuse them; the
listings escape whatever is already stored.
"""

from __future__ import annotations

import unicodedata

__all__ = ["first_control_character", "shown"]

# Bidi embeddings and overrides (U+202A..U+202E), isolates (U+2066..U+2069), and the line and
# paragraph separators that split a line the way a newline does.
_INVISIBLE_LAYOUT = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
) | {"\u2028", "\u2029"}
# Cc: C0, DEL and C1. Cs: a lone surrogate, which no UTF-8 encoder (nor the database) accepts.
_BAD_CATEGORIES = ("Cc", "Cs")


def _is_control(char: str) -> bool:
    return char in _INVISIBLE_LAYOUT or unicodedata.category(char) in _BAD_CATEGORIES


def first_control_character(text: str, *, allowed: str = "") -> str | None:
    """Describe the first control character of ``text`` (``"U+001B at position 3"``), or None.

    Parameters:
        text: the value to check.
        allowed: characters that are fine here (a body may hold newlines and tabs).
    """
    for position, char in enumerate(text, start=1):
        if char not in allowed and _is_control(char):
            return f"U+{ord(char):04X} at position {position}"
    return None


def shown(text: str, *, limit: int = 60) -> str:
    """``text`` made safe to print in a message or a listing: control characters escaped as
    ``\\uXXXX``, and cut to ``limit`` characters (``0``: no cut)."""
    if limit and len(text) > limit:
        text = text[:limit] + "…"
    return "".join(f"\\u{ord(c):04x}" if _is_control(c) else c for c in text)
