"""People who sign in to the console by name and password."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.store.models.base import Base, utcnow
from notifier.store.models.community import Community, Department


class User(Base):
    """One named member of staff, a publisher, an approver or an admin; only an argon2 hash
    of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # How they sign in and how the header and the audit log name them (``大碶街道 李科员``).
    name: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(16))
    # A staff member's community (they see its firms only; none: the district office), or a
    # publisher's department (its policies). See notifier.domain.scope.
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    # argon2id, in its encoded form (parameters and salt included).
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]

    community: Mapped[Community | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
