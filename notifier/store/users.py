"""Users: stored by name with an argon2 password hash, listed, disabled, their hash replaced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from notifier.store import added
from notifier.store.models import User


def add(
    session: Session,
    *,
    name: str,
    phone: str | None,
    role: str,
    password_hash: str,
    now: datetime,
    community_id: int | None = None,
    department_id: int | None = None,
) -> User:
    """Store a new user (the hash only, never the password)."""
    user = User(
        name=name, phone=phone, role=role, community_id=community_id,
        department_id=department_id, password_hash=password_hash, created_at=now,
        password_changed_at=now,
    )  # fmt: skip
    return added(session, user)


def by_name(session: Session, name: str) -> User | None:
    """The user with this name (disabled or not), or None."""
    return session.scalar(select(User).where(User.name == name))


def by_id(session: Session, user_id: int) -> User | None:
    """The user with this id, or None."""
    return session.get(User, user_id)


def by_name_order() -> Select[User]:
    """Every user, by name (then id: names may repeat), for paging."""
    return select(User).order_by(User.name, User.id)


def listed(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(by_name_order()))


def set_password_hash(session: Session, user: User, password_hash: str, *, now: datetime) -> None:
    """Replace ``user``'s hash (a new password, or the old one under new parameters)."""
    user.password_hash = password_hash
    user.password_changed_at = now
    session.flush()


def disable(session: Session, user: User, *, now: datetime) -> None:
    """Mark ``user`` disabled (a disabled one keeps its first time)."""
    if user.disabled_at is None:
        user.disabled_at = now
        session.flush()
