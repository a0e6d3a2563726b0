"""API keys: made, checked, listed and revoked.

A key is ``ntf_<10 hex>_<43 url-safe characters>``: the first part (the prefix) is public and
names the key in listings and the audit log; the rest is 32 random bytes. Only
HMAC-SHA256(secret key, whole key) is stored. A fast keyed hash is right here, unlike for
passwords: a key carries 256 bits of chance, so no guessing is helped by a slow hash, and the
HMAC's key (``NOTIFIER_SECRET_KEY``, not in the database) means a stolen table alone cannot
even check a guess. Checking costs one hash, so every request can afford it. Keys made under a
key now in ``old_secret_keys`` still check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.targets import read_credit_code
from notifier.domain.text_rules import check_line
from notifier.domain.time_source import TimeSource
from notifier.errors import InputError, NotFoundError
from notifier.services.access.scopes import scope_for
from notifier.store import apikeys as store
from notifier.store import enterprises, users
from notifier.store.db import SessionFactory
from notifier.store.models import ApiKey, Role

KEY_PATTERN = re.compile(r"^(ntf_[0-9a-f]{10})_([A-Za-z0-9_-]{43})$")
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's role, id and prefix, its enterprise for an enterprise key, and
    the name of the user who owns it, when one does; its scope (its owner's)."""

    role: Role
    key_id: int
    prefix: str
    enterprise_id: int | None = None
    owner: str | None = None
    scope: Scope = DISTRICT


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``key`` is shown this once and never stored."""

    key: str
    prefix: str
    role: str
    name: str
    credit_code: str | None
    owner: str | None = None

    def described(self) -> dict[str, object]:
        """The key as the audit log and answers describe it: everything but the key itself."""
        return {
            "prefix": self.prefix,
            "role": self.role,
            "name": self.name,
            "credit_code": self.credit_code,
            "owner": self.owner,
        }


def key_hash(key: str, secret: str) -> str:
    """The stored form of a key: hex HMAC-SHA256 under the deployment's secret."""
    return hmac.new(secret.encode("utf-8"), key.encode("utf-8"), hashlib.sha256).hexdigest()


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InputError(
            f"role: 未知角色 / unknown role {value!r}; one of {', '.join(ROLES)}", field="role"
        ) from None


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 100:
        raise InputError("name: 需要 1-100 个字符 / needs 1 to 100 characters", field="name")
    return check_line(name, "name")


def _owner_id(session: Session, owner: str | None) -> int | None:
    """The id of the user named ``owner`` (None for none).

    Raises:
        NotFoundError: (field ``owner``) no user has this name, or they are disabled.
    """
    if owner is None:
        return None
    user = users.by_name(session, owner.strip())
    if user is None or user.disabled_at is not None:
        raise NotFoundError(
            f"owner: 没有该用户或已停用 / no active user named {owner.strip()!r}", field="owner"
        )
    return user.id


def create_key(
    sessions: SessionFactory,
    *,
    role: str,
    name: str,
    credit_code: str | None,
    secret: str,
    time_source: TimeSource,
) -> NewKey:
    """Make a key in a transaction of its own, unaudited: how the demo and the tests make keys
    (admins make them with :func:`notifier.services.access.key_admin.make_key`).

    Raises:
        InputError: as :func:`add_key`.
    """
    with sessions.begin() as session:
        return add_key(
            session, role=role, name=name, credit_code=credit_code, secret=secret,
            now=time_source.now(),
        )  # fmt: skip


def add_key(
    session: Session,
    *,
    role: str,
    name: str,
    credit_code: str | None,
    secret: str,
    now: datetime,
    owner: str | None = None,
) -> NewKey:
    """Make a key in ``session`` (the caller commits). An enterprise key names its enterprise by
    credit code; others name none. ``owner``: the name of the user the key belongs to (keys
    are for machines, run for a person).

    Raises:
        InputError: unknown role, bad name, an enterprise key without (or another key with) a
            credit code, no enterprise with that code, or no active user named ``owner``.
    """
    chosen = _role(role)
    label = _name(name)
    if (chosen == Role.ENTERPRISE) != (credit_code is not None):
        raise InputError(
            "enterprise: 企业密钥需要且只有企业密钥需要统一社会信用代码 / an enterprise key needs "
            "--enterprise CREDIT_CODE, and only an enterprise key takes one",
            field="enterprise",
        )
    enterprise_id = None
    code = None
    if credit_code is not None:
        code = read_credit_code(credit_code)
        enterprise = enterprises.get_by_credit_code(session, code)
        if enterprise is None:
            raise NotFoundError(
                f"enterprise: 没有该企业 / no enterprise {code}", field="enterprise"
            )
        enterprise_id = enterprise.id
    owner_id = _owner_id(session, owner)
    prefix = "ntf_" + secrets.token_hex(5)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    store.add(
        session,
        prefix=prefix,
        key_hash=key_hash(key, secret),
        role=chosen,
        name=label,
        enterprise_id=enterprise_id,
        now=now,
        user_id=owner_id,
    )
    named = owner.strip() if owner is not None else None
    return NewKey(key=key, prefix=prefix, role=chosen, name=label, credit_code=code, owner=named)


def authenticate(
    sessions: SessionFactory, key: str, *, peppers: Sequence[str], time_source: TimeSource
) -> Principal | None:
    """The principal a presented key stands for, or None (malformed, unknown, wrong, revoked).

    Parameters:
        peppers: the deployment's secret keys, newest first.
    """
    match = KEY_PATTERN.match(key)
    if match is None:
        return None
    now = time_source.now()
    with sessions() as session:
        stored = store.by_prefix(session, match.group(1))
        if stored is None or stored.revoked_at is not None:
            return None
        if not any(hmac.compare_digest(stored.key_hash, key_hash(key, s)) for s in peppers):
            return None
        principal = Principal(
            role=Role(stored.role),
            key_id=stored.id,
            prefix=stored.prefix,
            enterprise_id=stored.enterprise_id,
            owner=stored.owner.name if stored.owner else None,
            scope=scope_for(stored.role, stored.owner, enterprise_id=stored.enterprise_id),
        )
        stale = stored.last_used_at is None or stored.last_used_at < now - store.USE_STAMP_EVERY
    if stale:  # a write only once a minute per key, not on every request
        with sessions.begin() as session:
            store.stamp_use(session, stored.id, now=now)
    return principal


def key_row(key: ApiKey) -> dict[str, object]:
    """A key as listings show it (with its owner's name): never its hash."""
    return {
        "prefix": key.prefix,
        "name": key.name,
        "role": key.role,
        "owner": key.owner.name if key.owner else None,
        "enterprise_id": key.enterprise_id,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def list_keys(sessions: SessionFactory) -> list[dict[str, object]]:
    """Every key, newest first, by prefix."""
    with sessions() as session:
        return [key_row(k) for k in store.listed(session)]


def revoke_key(session: Session, prefix: str, *, now: datetime) -> dict[str, object]:
    """Revoke a key by prefix in ``session`` (the caller commits); it stops working at once.

    Raises:
        NotFoundError: no key has this prefix.
    """
    key = store.revoke(session, prefix.strip(), now=now)
    if key is None:
        raise NotFoundError(f"prefix: 没有该密钥 / no key {prefix!r}", field="prefix")
    return key_row(key)
