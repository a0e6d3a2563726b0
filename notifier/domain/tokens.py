"""Signed tokens for the links in messages: unsubscribe, "this deadline is done", and the
firm's policy page.

Nobody can unsubscribe someone else, or silence someone else's reminders, by guessing ids.
Each purpose has its own salt, so a token made for one is refused by the other.

Signed with itsdangerous. The keys come newest first: the first signs, every one of them is
accepted, so a rotated secret keeps the links already sent working while the old key stays
listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from itsdangerous import BadData, Signer, URLSafeSerializer
from itsdangerous.signer import HMACAlgorithm

from notifier.errors import InputError

SALT = "notifier.unsubscribe"
DEADLINE_DONE_SALT = "notifier.deadline-done"
MAX_TOKEN_LENGTH = 500  # real tokens are under 100 characters


def _serializer(secrets: Sequence[str] | str, salt: str = SALT) -> URLSafeSerializer:
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("at least one secret key is needed")
    # itsdangerous signs with the last key and accepts them all.
    return URLSafeSerializer(list(reversed(keys)), salt=salt)


def make_unsubscribe_token(
    secrets: Sequence[str] | str, *, enterprise_id: int, channel: str
) -> str:
    """A URL-safe token naming the enterprise and channel, signed with the newest key.

    Parameters:
        secrets: the deployment's keys, newest first (or one key).
    """
    return str(_serializer(secrets).dumps([enterprise_id, channel]))


def read_unsubscribe_token(secrets: Sequence[str] | str, token: str) -> tuple[int, str]:
    """Return (enterprise id, channel) from a token signed with any of ``secrets``.

    Raises:
        InputError: the token is malformed, too long, or signed with none of the keys.
    """
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        raise InputError("unsubscribe token is malformed", field="token")
    try:
        value = _serializer(secrets).loads(token)
    except BadData:
        raise InputError("unsubscribe token signature does not match", field="token") from None
    except (ValueError, TypeError, UnicodeError):
        raise InputError("unsubscribe token is malformed", field="token") from None
    match value:
        case [int() as enterprise_id, str() as channel] if not isinstance(enterprise_id, bool):
            return enterprise_id, channel
    raise InputError("unsubscribe token is malformed", field="token")


def make_deadline_done_token(
    secrets: Sequence[str] | str, *, deadline_id: int, enterprise_id: int
) -> str:
    """A URL-safe token saying "this enterprise has done this deadline", newest key."""
    return str(_serializer(secrets, DEADLINE_DONE_SALT).dumps([deadline_id, enterprise_id]))


def read_deadline_done_token(secrets: Sequence[str] | str, token: str) -> tuple[int, int]:
    """Return (deadline id, enterprise id) from a token signed with any of ``secrets``.

    Raises:
        InputError: the token is malformed, too long, or signed with none of the keys (an
            unsubscribe token included: its salt differs).
    """
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        raise InputError("deadline token is malformed", field="token")
    try:
        value = _serializer(secrets, DEADLINE_DONE_SALT).loads(token)
    except BadData:
        raise InputError("deadline token signature does not match", field="token") from None
    except (ValueError, TypeError, UnicodeError):
        raise InputError("deadline token is malformed", field="token") from None
    match value:
        case [int() as deadline_id, int() as enterprise_id] if not isinstance(
            deadline_id, bool
        ) and not isinstance(enterprise_id, bool):
            return deadline_id, enterprise_id
    raise InputError("deadline token is malformed", field="token")


# --- the firm's policy page (/p/{token}) ----------------------------------------------------

PAGE_SALT = "notifier.firm-page"
# 12 bytes of HMAC-SHA256 (96 bits, 16 characters): forging one takes about 2**95 tries
# against a server that answers each in milliseconds; the link stays short enough for an SMS.
PAGE_SIGNATURE_BYTES = 12
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_PAGE_TOKEN_LENGTH = 80


class _ShortHMAC(HMACAlgorithm):
    """HMAC-SHA256 cut to :data:`PAGE_SIGNATURE_BYTES` (compared in constant time)."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:PAGE_SIGNATURE_BYTES]


def _page_signer(secrets: Sequence[str] | str) -> Signer:
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("at least one secret key is needed")
    return Signer(list(reversed(keys)), salt=PAGE_SALT, algorithm=_ShortHMAC())


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if not number:
            return digits


def make_page_token(secrets: Sequence[str] | str, *, policy_id: int, enterprise_id: int) -> str:
    """A short URL-safe token naming one policy and one firm (``1f-2s.<16 characters>``),
    signed with the newest key."""
    payload = f"{_base36(policy_id)}-{_base36(enterprise_id)}"
    return _page_signer(secrets).sign(payload).decode("ascii")


def read_page_token(secrets: Sequence[str] | str, token: str) -> tuple[int, int]:
    """Return (policy id, enterprise id) from a token signed with any of ``secrets``.

    Raises:
        InputError: the token is malformed, too long, or signed with none of the keys (a
            token of another purpose included: its salt differs).
    """
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise InputError("page token is malformed", field="token")
    try:
        payload = _page_signer(secrets).unsign(token).decode("ascii")
    except BadData:
        raise InputError("page token signature does not match", field="token") from None
    parts = payload.split("-")
    if len(parts) != 2 or not all(part and set(part) <= set(_BASE36) for part in parts):
        raise InputError("page token is malformed", field="token")
    return int(parts[0], 36), int(parts[1], 36)
