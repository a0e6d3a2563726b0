"""CSRF tokens for the forms of the console and the enterprise pages.

A form carries a value signed (with the deployment's keys, newest first, each accepted) over
what it belongs to: the console session's id, or the enterprise link's token. A page on
another site cannot read it, so it cannot forge the post.
"""

from __future__ import annotations

import hmac
import secrets as random
from collections.abc import Sequence

from itsdangerous import BadData, URLSafeSerializer

from notifier.config import Settings

FORM_SALT = "notifier.web-form"
FIELD = "csrf"


def _serializer(keys: Sequence[str]) -> URLSafeSerializer:
    return URLSafeSerializer(list(reversed(keys)), salt=FORM_SALT)


def form_token(keys: Sequence[str], bound_to: str) -> str:
    """A CSRF value for forms bound to ``bound_to`` (a session id or a link token)."""
    return str(_serializer(keys).dumps([bound_to, random.token_urlsafe(8)]))


def form_token_valid(keys: Sequence[str], bound_to: str, value: str | None) -> bool:
    """Whether ``value`` is a CSRF value we made for ``bound_to``."""
    if not value or len(value) > 500:
        return False
    try:
        loaded = _serializer(keys).loads(value)
    except (BadData, ValueError, TypeError, UnicodeError):
        return False
    return (
        isinstance(loaded, list)
        and len(loaded) == 2
        and isinstance(loaded[0], str)
        and hmac.compare_digest(loaded[0], bound_to)
    )


def deployment_keys(settings: Settings) -> list[str]:
    """The deployment's keys, newest first: ``secret_key``, then ``old_secret_keys`` (they
    sign links and sessions and pepper API key hashes)."""
    return [settings.secret_key.get_secret_value()] + [
        old.get_secret_value() for old in settings.old_secret_keys
    ]
