"""Signed tokens for unsubscribe links: nobody can unsubscribe someone else by guessing ids.

Signed with itsdangerous. The keys come newest first: the first signs, every one of them is
accepted, so a rotated secret keeps the links already sent working while the old key stays
listed.
"""

from __future__ import annotations

from collections.abc import Sequence

from itsdangerous import BadData, URLSafeSerializer

from notifier.errors import InputError

SALT = "notifier.unsubscribe"
MAX_TOKEN_LENGTH = 500  # real tokens are under 100 characters


def _serializer(secrets: Sequence[str] | str) -> URLSafeSerializer:
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("at least one secret key is needed")
    # itsdangerous signs with the last key and accepts them all.
    return URLSafeSerializer(list(reversed(keys)), salt=SALT)


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
