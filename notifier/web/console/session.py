"""Console sign-in: an API key (staff or admin) is exchanged for a signed session cookie.

The cookie holds no key, only which key signed in (its id, public prefix and role) and a
random session id; it is signed with the deployment's keys (newest first, each accepted, so
rotating the secret signs nobody out), HttpOnly, SameSite=Lax, and expires after
``SESSION_HOURS``. Revoking the key ends its sessions at their next request. Every form
carries a CSRF value bound to the session id (``notifier.web.forms``).
"""

from __future__ import annotations

import secrets as random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import HTTPException, Request
from itsdangerous import BadData, URLSafeTimedSerializer

from notifier.apikeys import Principal
from notifier.models import Role
from notifier.web.forms import FIELD, form_token, form_token_valid

COOKIE = "notifier_console"
SALT = "notifier.console-session"
SESSION_HOURS = 8
STAFF_ROLES = ("staff", "admin")
LOGIN_PATH = "/console/login"


@dataclass(frozen=True)
class Identity:
    """Whom a key names: its role, the public prefix that names it in logs, its id."""

    role: str
    name: str
    key_id: int


# Checks a presented API key: its identity, or None when no valid key is that.
KeyCheck = Callable[[str], Identity | None]
# Whether the key with this prefix is still valid (not revoked, not deleted).
KeyActive = Callable[[str], bool]


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in member of staff."""

    role: str
    name: str
    key_id: int
    sid: str
    csrf: str

    @property
    def admin(self) -> bool:
        """Whether the admin pages are open to this user."""
        return self.role == "admin"

    @property
    def principal(self) -> Principal:
        """The key behind the session, as the API's audit log names callers."""
        return Principal(role=Role(self.role), key_id=self.key_id, prefix=self.name)


class Sessions:
    """Makes and reads console session cookies with the deployment's keys."""

    def __init__(self, keys: Sequence[str], *, secure: bool, active: KeyActive) -> None:
        self.keys = list(keys)
        self.secure = secure
        self.active = active
        self._serializer = URLSafeTimedSerializer(list(reversed(self.keys)), salt=SALT)

    def cookie_value(self, identity: Identity) -> str:
        """A new session's cookie value."""
        sid = random.token_urlsafe(16)
        return str(
            self._serializer.dumps([identity.role, identity.name, identity.key_id, sid])
        )

    def read(self, request: Request) -> ConsoleUser | None:
        """The signed-in user of ``request``, or None."""
        value = request.cookies.get(COOKIE)
        if not value or len(value) > 1000:
            return None
        try:
            role, name, key_id, sid = self._serializer.loads(value, max_age=SESSION_HOURS * 3600)
        except (BadData, ValueError, TypeError):
            return None
        if role not in STAFF_ROLES or not isinstance(key_id, int) or not self.active(name):
            return None
        return ConsoleUser(
            role=role, name=name, key_id=key_id, sid=sid, csrf=form_token(self.keys, sid)
        )

    def user(self, request: Request) -> ConsoleUser:
        """The signed-in user; anyone else is sent to the sign-in page."""
        user = self.read(request)
        if user is None:
            raise HTTPException(status_code=303, headers={"Location": LOGIN_PATH})
        return user

    def admin(self, request: Request) -> ConsoleUser:
        """The signed-in admin; staff get 403."""
        user = self.user(request)
        if not user.admin:
            raise HTTPException(status_code=403, detail="admin only")
        return user

    async def posted_by(self, request: Request) -> ConsoleUser:
        """The user of a form post whose CSRF value matches the session (else 403)."""
        user = self.user(request)
        form = await request.form()
        value = form.get(FIELD) or request.headers.get("x-csrf-token")
        if not isinstance(value, str) or not form_token_valid(self.keys, user.sid, value):
            raise HTTPException(status_code=403, detail="CSRF value missing or wrong")
        return user

    async def admin_posted(self, request: Request) -> ConsoleUser:
        """An admin's form post with the session's CSRF value (else 403)."""
        user = await self.posted_by(request)
        if not user.admin:
            raise HTTPException(status_code=403, detail="admin only")
        return user
