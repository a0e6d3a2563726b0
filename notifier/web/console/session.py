"""Console sign-in: a user's name and password, or an API key (staff, admin, publisher or
approver), is exchanged
for a server-side session.

The cookie carries only a random session id, signed with the deployment's keys (newest first,
each accepted, so rotating the secret signs nobody out); HttpOnly, SameSite=Lax. The session
is a row of ``console_sessions`` (its id's hash, the key or the user, created, last seen,
expires, ended): signing out, revoking the key, disabling the user, a new password or
``SESSION_HOURS`` passing ends it for good, so a
copied cookie is worth nothing afterwards. Every form carries a CSRF value bound to the
session id, and the sign-in form one bound to a pre-session cookie (``notifier.web.forms``).
"""

from __future__ import annotations

import hashlib
import secrets as random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from itsdangerous import BadData, URLSafeTimedSerializer

from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.time_source import TimeSource
from notifier.services.access.api_keys import Principal
from notifier.services.access.scopes import scope_for
from notifier.services.context import Actor
from notifier.store import console_sessions as store
from notifier.store.db import SessionFactory
from notifier.store.models import Role
from notifier.web.forms import form_token, form_token_valid

COOKIE = "notifier_console"
# The sign-in form's pre-session cookie: its CSRF value is bound to this cookie's random id.
LOGIN_COOKIE = "notifier_login"
SALT = "notifier.console-session"
LOGIN_SALT = "notifier.console-login"
SESSION_HOURS = 8
LOGIN_FORM_HOURS = 12
# Who may sign in to the console: approvers too, to decide the sends waiting for approval.
STAFF_ROLES = ("staff", "admin", "publisher", "approver")
LOGIN_PATH = "/console/login"
# The register's pages: firms one by one (not for publishers and approvers).
REGISTER_PAGES = (
    "/console/deadlines", "/console/enterprises", "/console/followups", "/console/deliveries",
)


@dataclass(frozen=True)
class Identity:
    """Who signs in: a key (its role, the public prefix that names it in logs, its id) or a
    user (their role, their name, their id)."""

    role: str
    name: str
    key_id: int | None = None
    user_id: int | None = None


# Checks a presented API key: its identity, or None when no valid key is that.
KeyCheck = Callable[[str], Identity | None]


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in member of staff: a user (``user_id``) or a key's holder (``key_id``);
    ``name`` the user's name or the key's prefix, as the header and the audit log show it."""

    role: str
    name: str
    key_id: int | None
    sid: str
    csrf: str
    user_id: int | None = None
    # Who owns the key a key's holder signed in with (the audit log names them too).
    owner: str | None = None
    # What of the district they see: their own (a user) or the key's owner's.
    scope: Scope = DISTRICT

    @property
    def person(self) -> str | None:
        """The user behind the session: the one signed in, or the owner of the key used."""
        return self.name if self.user_id is not None else self.owner

    @property
    def admin(self) -> bool:
        """Whether the admin pages are open to this user."""
        return self.role == "admin"

    def sees(self, path: str) -> bool:
        """Whether the nav offers the page at ``path`` (what the role is let into)."""
        if path.startswith(REGISTER_PAGES):
            return self.scope.sees_register
        if path.startswith("/console/campaigns"):
            return self.role != "publisher"
        if path.startswith("/console/templates"):
            return self.role != "approver"
        return True

    @property
    def principal(self) -> Principal:
        """Who is behind the session, as the API's audit log names callers (a user by name)."""
        return Principal(
            role=Role(self.role), key_id=self.key_id or 0, prefix=self.name, owner=self.owner,
            scope=self.scope,
        )  # fmt: skip

    @property
    def actor(self) -> Actor:
        """Who the audit log names for an operation done here."""
        return Actor(
            name=self.name, role=self.role, face="console", owner=self.owner, scope=self.scope
        )

    @property
    def session_hash(self) -> str:
        """The stored hash of this session's id."""
        return _hashed(self.sid)


def _hashed(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Sessions:
    """Starts, reads and ends console sessions (rows in ``db``, ids in signed cookies)."""

    def __init__(
        self, keys: Sequence[str], *, secure: bool, db: SessionFactory, time_source: TimeSource
    ) -> None:
        self.keys = list(keys)
        self.secure = secure
        self.db = db
        self.time_source = time_source
        self._serializer = URLSafeTimedSerializer(list(reversed(self.keys)), salt=SALT)
        self._login = URLSafeTimedSerializer(list(reversed(self.keys)), salt=LOGIN_SALT)

    def start(self, identity: Identity) -> str:
        """Store a new session of ``identity``; its cookie value."""
        sid = random.token_urlsafe(32)
        now = self.time_source.now()
        with self.db.begin() as session:
            store.start(
                session,
                token_hash=_hashed(sid),
                api_key_id=identity.key_id,
                user_id=identity.user_id,
                now=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        return str(self._serializer.dumps(sid))

    def _sid(self, request: Request) -> str | None:
        value = request.cookies.get(COOKIE)
        if not value or len(value) > 1000:
            return None
        try:
            sid = self._serializer.loads(value, max_age=SESSION_HOURS * 3600)
        except (BadData, ValueError, TypeError, UnicodeError):
            return None
        return sid if isinstance(sid, str) else None

    def read(self, request: Request) -> ConsoleUser | None:
        """The signed-in user of ``request``, or None (no session, or one that has ended)."""
        sid = self._sid(request)
        if sid is None:
            return None
        with self.db.begin() as session:
            found = store.active(session, _hashed(sid), now=self.time_source.now())
            if found is None:
                return None
            _, key, person = found
            owner = None
            if person is not None:
                role, name, key_id, user_id = person.role, person.name, None, person.id
                scope = scope_for(role, person)
            else:
                assert key is not None
                role, name, key_id, user_id = key.role, key.prefix, key.id, None
                owner = key.owner.name if key.owner else None
                scope = scope_for(role, key.owner)
        if role not in STAFF_ROLES:
            return None
        return ConsoleUser(
            role=role, name=name, key_id=key_id, user_id=user_id, sid=sid,
            csrf=form_token(self.keys, sid), owner=owner, scope=scope,
        )  # fmt: skip

    def end(self, user: ConsoleUser, *, reason: str = "logout") -> None:
        """End ``user``'s session: its cookie signs nobody in again."""
        with self.db.begin() as session:
            store.end(session, _hashed(user.sid), now=self.time_source.now(), reason=reason)

    def login_form(self, request: Request) -> tuple[str, str | None]:
        """The sign-in form's CSRF value, and the pre-session cookie to set (None: keep the
        one the browser has)."""
        pre = self._login_id(request)
        cookie = None
        if pre is None:
            pre = random.token_urlsafe(16)
            cookie = str(self._login.dumps(pre))
        return form_token(self.keys, f"login:{pre}"), cookie

    def login_posted(self, request: Request, value: object) -> bool:
        """Whether a sign-in post carries the CSRF value of its browser's sign-in form."""
        pre = self._login_id(request)
        return (
            pre is not None
            and isinstance(value, str)
            and form_token_valid(self.keys, f"login:{pre}", value)
        )

    def _login_id(self, request: Request) -> str | None:
        value = request.cookies.get(LOGIN_COOKIE)
        if not value or len(value) > 500:
            return None
        try:
            pre = self._login.loads(value, max_age=LOGIN_FORM_HOURS * 3600)
        except (BadData, ValueError, TypeError, UnicodeError):
            return None
        return pre if isinstance(pre, str) else None

    def csrf_valid(self, user: ConsoleUser, value: object) -> bool:
        """Whether ``value`` is the CSRF value of ``user``'s session."""
        return isinstance(value, str) and form_token_valid(self.keys, user.sid, value)
