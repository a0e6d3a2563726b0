"""One rule for the characters a text field may hold, whichever way it comes in (an import
row, an API body or query parameter, a console form, the command line).

Two kinds of field, and the rule is the same on every path:

- a **line** (identifiers and names: credit codes, firm names, regions, tags, topics, titles,
  key and template names): no control character at all, no invisible character (zero-width
  spaces and joiners, bidi marks, embeddings and isolates, the BOM, tag characters, fillers such
  as U+3164), no run of more than :data:`MAX_COMBINING_RUN` combining marks, and at least one
  visible character. Such a value is **refused**, never silently cleaned: a cleaned credit code
  or name would no longer be what the register says, and staff could not find it again.
- a **text** (summaries, bodies, templates): line breaks and tabs are allowed; other control
  characters, bidi embeddings, overrides and isolates and lone surrogates are refused. Joiners
  and variation selectors stay, because emoji are built from them.

Why: a NUL aborts a PostgreSQL transaction (and with it a whole import), an ESC rewrites a
staff member's terminal, a bidi override shows a name reversed, and a name of only U+3164 or
with a zero-width space looks like another firm's (or like nothing) on every screen.
"""

from __future__ import annotations

import unicodedata

from notifier.errors import InputError

__all__ = [
    "LINE_PATTERN",
    "NOT_IN_A_LINE",
    "REQUIRED_LINE_PATTERN",
    "REQUIRED_TEXT_PATTERN",
    "MAX_COMBINING_RUN",
    "check_line",
    "check_text",
    "is_control",
    "is_invisible",
    "line_problem",
    "text_problem",
]

# More combining marks than this on one letter is "Zalgo" text, never a real name.
MAX_COMBINING_RUN = 4

# Bidi embeddings and overrides (U+202A..U+202E), isolates (U+2066..U+2069), and the line and
# paragraph separators that split a line the way a newline does: refused in texts too.
_LAYOUT = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
) | {"\u2028", "\u2029"}
# Letters and symbols that draw nothing: Hangul fillers, the halfwidth filler, the braille
# blank, Mongolian free variation selectors, the combining grapheme joiner, Khmer inherent
# vowels, variation selectors. Their categories (Lo, So, Mn) say "visible", so they are named.
_FILLERS = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u180b\u180c\u180d\u180e\u034f\u17b4\u17b5"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
# Cc: C0, DEL and C1. Cs: a lone surrogate, which no UTF-8 encoder (nor the database) accepts.
_CONTROL_CATEGORIES = ("Cc", "Cs")
# Cf: every format character (zero-width space and joiners, LRM/RLM/ALM, the BOM, soft hyphen,
# tag characters U+E0000..U+E007F, invisible operators). Zl, Zp: line and paragraph separators.
_INVISIBLE_CATEGORIES = ("Cf", "Zl", "Zp")
_COMBINING_CATEGORIES = ("Mn", "Me")

# The line rule's character test as a regular expression, for the OpenAPI schema (so a client
# or a fuzzer knows the rule); the check itself is :func:`line_problem`, which also names the
# character. Written with \\x, \\u and \\U escapes that Python's and Rust's regex engines both read.
# The characters the line rule refuses, as the body of a regular expression's character class.
NOT_IN_A_LINE = (
    r"\x00-\x1f\x7f-\x9f\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    r"\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    r"\u2066-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000110BD\U000110CD"
    r"\U00013430-\U00013438\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001"
    r"\U000E0020-\U000E007F\U000E0100-\U000E01EF"
)
LINE_PATTERN = rf"^[^{NOT_IN_A_LINE}]*$"
# The text rule as a pattern (line breaks, tabs and the CR of a CRLF allowed), not blank.
_NOT_IN_A_TEXT = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069"
REQUIRED_TEXT_PATTERN = rf"^[^{_NOT_IN_A_TEXT}]*[^{_NOT_IN_A_TEXT}\s][^{_NOT_IN_A_TEXT}]*$"
# The line rule, with at least one visible character: for required fields.
REQUIRED_LINE_PATTERN = rf"^[^{NOT_IN_A_LINE}]*[^{NOT_IN_A_LINE}\s][^{NOT_IN_A_LINE}]*$"


def _where(char: str, position: int) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}{' ' + name if name else ''} at position {position}"


def is_control(char: str) -> bool:
    """Whether ``char`` is refused even in a text: a control character, a bidi embedding,
    override or isolate, a line or paragraph separator, or a lone surrogate."""
    return char in _LAYOUT or unicodedata.category(char) in _CONTROL_CATEGORIES


def is_invisible(char: str) -> bool:
    """Whether ``char`` draws nothing (a format character, a filler): refused in a line."""
    return char in _FILLERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def text_problem(value: str, *, allowed: str = "\n\t") -> str | None:
    """Why ``value`` may not be stored as a text (multi-line) field, or None.

    Parameters:
        value: the text.
        allowed: control characters that are fine here (line breaks and tabs by default).
    """
    if value.isprintable():  # nearly every value: skip the character-by-character look
        return None
    for position, char in enumerate(value, start=1):
        if char not in allowed and is_control(char):
            return f"含控制字符 contains control characters ({_where(char, position)})"
    return None


def line_problem(value: str) -> str | None:
    """Why ``value`` may not be stored as a line (an identifier or a name), or None.

    The value is taken as given (strip it first if the field ignores surrounding spaces); an
    empty value is the caller's business (required or not).
    """
    if value.isascii() and value.isprintable():  # the common case: nothing to look at
        return None
    problem = text_problem(value, allowed="")
    if problem:
        return problem
    run = 0
    visible = False
    for position, char in enumerate(value, start=1):
        category = unicodedata.category(char)
        if is_invisible(char):
            return f"含不可见字符 contains invisible characters ({_where(char, position)})"
        if category in _COMBINING_CATEGORIES:
            run += 1
            if run > MAX_COMBINING_RUN:
                return (
                    f"组合符号过多 more than {MAX_COMBINING_RUN} combining marks in a row "
                    f"(at position {position})"
                )
            continue
        run = 0
        visible = visible or not char.isspace()
    if value and not visible:
        return "只有空白 holds no visible character"
    return None


def check_line(value: str, field: str, *, limit: int | None = None) -> str:
    """``value`` if it passes the line rule and is at most ``limit`` characters.

    Raises:
        InputError: naming ``field`` and the problem.
    """
    return _passed(value, field, line_problem(value) or _too_long(value, limit))


def check_text(value: str, field: str, *, limit: int | None = None) -> str:
    """``value`` if it passes the text rule (multi-line) and is at most ``limit`` characters;
    raises as :func:`check_line`."""
    return _passed(value, field, text_problem(value) or _too_long(value, limit))


def _passed(value: str, field: str, problem: str | None) -> str:
    if problem:
        raise InputError(f"{field}: {problem}", field=field)
    return value


def _too_long(value: str, limit: int | None) -> str | None:
    if limit is not None and len(value) > limit:
        return f"超过 {limit} 个字符 longer than {limit} characters ({len(value)})"
    return None
