"""Signed tokens for unsubscribe links: nobody can unsubscribe someone else by guessing ids."""

from __future__ import annotations

import base64
import hashlib
import hmac

from notifier.errors import InputError


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_unsubscribe_token(secret: str, *, enterprise_id: int, channel: str) -> str:
    """A URL-safe token naming the enterprise and channel, signed with the deployment's key."""
    payload = f"{enterprise_id}.{channel}"
    return f"{payload}.{_signature(secret, 'unsubscribe:' + payload)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, str]:
    """Return (enterprise id, channel) from a token.

    Raises:
        InputError: the token is malformed or its signature does not match.
    """
    try:
        enterprise, channel, signature = token.split(".")
        enterprise_id = int(enterprise)
    except ValueError:
        raise InputError("unsubscribe token is malformed", field="token") from None
    expected = _signature(secret, f"unsubscribe:{enterprise}.{channel}")
    if not hmac.compare_digest(signature, expected):
        raise InputError("unsubscribe token signature does not match", field="token")
    return enterprise_id, channel
