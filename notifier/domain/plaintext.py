"""Which characters a stored or printed text may hold.

Control characters do harm far from where they came in: a NUL aborts a PostgreSQL transaction
(and with it a whole import), an ESC or C1 sequence rewrites a staff member's terminal, and a
bidi override (U+202E) shows a title or a credit code reversed. The readers refuse them; the
listings escape whatever is already stored. Which characters those are is
:mod:`notifier.domain.text_rules`' rule.
"""

from __future__ import annotations

from notifier.domain.text_rules import is_control as _is_control
from notifier.domain.text_rules import is_invisible

__all__ = ["first_control_character", "shown"]


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
    """``text`` made safe to print in a message or a listing: control and invisible characters
    escaped as ``\\uXXXX``, and cut to ``limit`` characters (``0``: no cut)."""
    if limit and len(text) > limit:
        text = text[:limit] + "…"
    return "".join(f"\\u{ord(c):04x}" if _is_control(c) or is_invisible(c) else c
                   for c in text)
