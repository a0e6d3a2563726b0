"""A fast writer for notifier's one shape of email: text and HTML alternatives, UTF-8, base64.

The standard library's ``email`` package parses every header it is given and folds it again,
which costs milliseconds per message; a batch of thousands pays that many times over. This
writes the same MIME directly: RFC 2047 encoded words for non-ASCII headers, base64 bodies in
76-column lines, CRLF throughout. Addresses must be ASCII (``is_plain_address``); the sender
falls back to the ``email`` package for any other.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache

CRLF = "\r\n"


def is_plain_address(address: str) -> bool:
    """True for one ASCII ``local@domain`` address with no display name or line breaks."""
    name, addr = parseaddr(address)
    return (
        address.isascii()
        and not name
        and addr == address.strip()
        and addr.count("@") == 1
        and all(addr.partition("@")[::2])
        and not any(c in address for c in "\r\n")
    )


# An ASCII value longer than this is folded (as encoded words) to keep lines under 998.
_LONGEST_PLAIN = 900
# RFC 2047 section 2: a line that holds encoded words is at most 76 characters, and each
# encoded word at most 75. The header's name counts on the first line, so it is passed in.
ENCODED_LINE = 76


@lru_cache(maxsize=256)
def header_value(value: str, *, name: str, encode: bool = True) -> str:
    """A header value as it goes on the wire after ``name: ``: plain ASCII as it is, else
    RFC 2047 encoded words folded so that every line, ``name: `` included, is at most 76
    characters. ``encode=False`` keeps a value that must stay one line (a link) as it is.
    The last few are kept: a trigger's messages all have the same subject.

    Raises:
        ValueError: the value holds a line break (a header cannot).
    """
    if "\r" in value or "\n" in value:
        raise ValueError(f"line break in header value {value!r}")
    plain = value.isascii() and "=?" not in value and len(value) <= _LONGEST_PLAIN
    if plain or not encode:
        return value
    return Header(value, "utf-8", maxlinelen=ENCODED_LINE, header_name=name).encode(linesep=CRLF)


class DateHeader:
    """The ``Date`` header's value for now, in GMT, as ``formatdate(usegmt=True)`` writes it:
    made once a second (it names whole seconds), not once a message. Safe across threads."""

    def __init__(self) -> None:
        self._last: tuple[int, str] = (-1, "")

    def now(self) -> str:
        """``Mon, 02 Mar 2026 02:00:00 GMT`` for the current second."""
        second = int(time.time())
        last = self._last
        if last[0] != second:
            last = (second, formatdate(second, usegmt=True))
            self._last = last
        return last[1]


def mailbox(address: str, *, name: str) -> str:
    """``Name <addr>`` for header ``name``, the display name encoded when it is not ASCII;
    the address goes on a line of its own when the encoded name's last line has no room."""
    display, addr = parseaddr(address)
    if not display:
        return addr
    if display.isascii():
        return formataddr((display, addr))
    encoded = header_value(display, name=name)
    lines = encoded.split(CRLF)
    # The first line also holds "Name: ".
    used = len(lines[-1]) + (len(name) + 2 if len(lines) == 1 else 0)
    fits = used + len(addr) + 3 <= ENCODED_LINE
    return f"{encoded}{' ' if fits else CRLF + ' '}<{addr}>"


# base64 lines of 76 characters (57 bytes each), as base64.encodebytes writes them.
_BASE64_LINE = 76


def _part(content_type: str, body: str) -> str:
    # One b64encode cut into lines: the bytes encodebytes writes, without its per-line loop.
    encoded = base64.b64encode(body.encode("utf-8")).decode("ascii")
    lines = [encoded[i : i + _BASE64_LINE] for i in range(0, len(encoded), _BASE64_LINE)]
    return (
        f'Content-Type: {content_type}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}"
        + "".join(line + CRLF for line in lines)
    )


def write_email(headers: Sequence[tuple[str, str]], *, text: str, html: str | None) -> bytes:
    """The whole message: ``headers`` (already wire values) then the text and HTML parts."""
    lines = [f"{name}: {value}" for name, value in headers]
    lines.append("MIME-Version: 1.0")
    if html is None:
        return (CRLF.join(lines) + CRLF + _part("text/plain", text)).encode("ascii")
    boundary = f"=_notifier_{uuid.uuid4().hex}"
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    body = (
        f"--{boundary}{CRLF}{_part('text/plain', text)}"
        f"--{boundary}{CRLF}{_part('text/html', html)}"
        f"--{boundary}--{CRLF}"
    )
    return (CRLF.join(lines) + CRLF + CRLF + body).encode("ascii")
