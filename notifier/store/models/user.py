"""People who sign in to the console by name and password."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class User(Base):
    """One named member of staff or admin; only an argon2 hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # How they sign in and how the header and the audit log name them (``大碶街道 李科员``).
    name: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(16))
    # The community a clerk works for (not used yet: the region picker will read it).
    community: Mapped[str | None] = mapped_column(String(200))
    # argon2id, in its encoded form (parameters and salt included).
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
