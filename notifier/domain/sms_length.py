"""How carriers count an SMS: its length, its parts and its encoding.

Mainland China carriers count characters, whatever the script: one each, two for a character
outside the Basic Multilingual Plane (emoji); 70 fit in one message, 67 in each part of a long
one. Elsewhere a message is GSM-7 if every character is in the GSM 03.38 default alphabet or its
extension table (extension characters take two septets; 160 in one message, 153 per part), else
UCS-2 (70, then 67 per part; characters outside the BMP take two code units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import phonenumbers

from notifier.errors import InputError, TemplateError

Encoding = Literal["cn", "gsm7", "ucs2"]

CHINA_COUNTRY_CODE = 86

# GSM 03.38 default alphabet, code points 0x00 to 0x7F in order. 0x1B is the escape to the
# extension table, not a character of its own, so it is left out below.
_GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_BASIC = frozenset(_GSM7_BASIC_TABLE) - {"\x1b"}

# GSM 03.38 extension table: each is sent as ESC + one septet, so it counts two.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS: dict[Encoding, tuple[int, int]] = {
    # encoding: (one message, each part of a long message)
    "cn": (70, 67),
    "gsm7": (160, 153),
    "ucs2": (70, 67),
}


@dataclass(frozen=True)
class SmsCount:
    """The billed length of an SMS, how many parts it is sent in, and how it is counted."""

    length: int
    parts: int
    encoding: Encoding


def count_sms(text: str, *, to: str | None, region: str = "CN") -> SmsCount:
    """Count ``text`` the way the carrier of ``to`` bills it.

    Parameters:
        text: the full text as sent, signature included.
        to: the recipient's number, national numbers read in ``region``; ``None`` counts as a
            number of ``region`` itself (for previews without a recipient).
        region: ISO 3166 region code for numbers without a ``+`` prefix.

    Returns:
        The length, the number of parts and the encoding.

    Raises:
        InputError: ``to`` is not a phone number.
    """
    if _is_mainland_china(to, region=region):
        encoding: Encoding = "cn"
        length = _count_code_units(text)
    elif all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        encoding = "gsm7"
        length = len(text) + sum(char in GSM7_EXTENSION for char in text)
    else:
        encoding = "ucs2"
        length = _count_code_units(text)
    single, per_part = _LIMITS[encoding]
    parts = 1 if length <= single else math.ceil(length / per_part)
    return SmsCount(length=length, parts=parts, encoding=encoding)


def check_sms_length(count: SmsCount, *, max_length: int) -> None:
    """Refuse an SMS longer than ``max_length`` characters.

    Raises:
        TemplateError: the SMS is too long; the message gives both numbers.
    """
    if count.length > max_length:
        raise TemplateError(
            f"SMS is {count.length} characters, over the maximum of {max_length}"
        )


def _count_code_units(text: str) -> int:
    # A character outside the BMP is a UTF-16 surrogate pair: two units, billed as two.
    return len(text) + sum(ord(char) > 0xFFFF for char in text)


def _is_mainland_china(to: str | None, *, region: str) -> bool:
    if to is None:
        return region.upper() == "CN"
    try:
        number = phonenumbers.parse(to, region)
    except phonenumbers.NumberParseException as exc:
        raise InputError(f"not a phone number: {to!r} ({exc})", field="to") from exc
    return number.country_code == CHINA_COUNTRY_CODE
