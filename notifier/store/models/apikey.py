"""API keys: who may call the HTTP API, in which role; and the audit log of what they did."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.store.models.base import Base, utcnow
from notifier.store.models.user import User


class Role(enum.StrEnum):
    """What a key or a user may do: admin everything, staff the outreach (of their community,
    when they have one), a publisher its department's policies, an approver signs off mass sends,
    an enterprise its own data."""

    ADMIN = "admin"
    STAFF = "staff"
    PUBLISHER = "publisher"
    APPROVER = "approver"
    ENTERPRISE = "enterprise"


class ApiKey(Base):
    """One API key. Only its prefix and a keyed hash of the whole key are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public part, shown in listings and the audit log (``ntf_`` + 10 characters).
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    # Hex HMAC-SHA256 of the whole key under the deployment's secret key.
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    # Set for an enterprise key only: the one enterprise it may see.
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # The person a machine's key belongs to, when one does.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship()


class AuditEntry(Base):
    """One change a staff or admin key made: who, what, when, before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # An API key's prefix, or ``cli:<operating-system user>`` (see services.context.Actor).
    actor_prefix: Mapped[str] = mapped_column(String(64), index=True)
    actor_role: Mapped[str] = mapped_column(String(16))
    # The user who owns the key the change was made with (None: no owner, or not a key).
    actor_owner: Mapped[str | None] = mapped_column(String(64))
    # How the actor came in: api, console, cli, clock (None on rows from before 0014).
    face: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ConsoleSession(Base):
    """One console sign-in, by a key or by a user's password: the cookie carries only its
    random id, signed; the row is what makes it valid, so signing out, revoking the key,
    disabling the user or expiry ends it for good."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Hex SHA-256 of the random session id: the table alone signs nobody in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Exactly one of these is set: who signed in.
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # Why it ended: logout, revoked, disabled, password.
    ended_reason: Mapped[str | None] = mapped_column(String(20))
