"""Approval requests: a mass send waits (待审核) until an approver other than its author decides."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base


class ApprovalKind(enum.StrEnum):
    """What waits: a policy's first publication, a correction of it, or a campaign."""

    PUBLISH = "publish"
    CORRECTION = "correction"
    CAMPAIGN = "campaign"


class ApprovalStatus(enum.StrEnum):
    """待审核 pending until decided: approved or returned by an approver, or withdrawn when a
    newer request of its subject replaced it. Only ``pending`` rows ever change."""

    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class Approval(Base):
    """One request for approval, with what its approver saw frozen in ``preview``.

    The subject is ``policy_id`` (with ``revision`` for a correction) or ``campaign_id``.
    ``author`` is the person who asked (a user's name, or a key's prefix when no user owns
    the key); ``decided_by`` the person who decided. A decided row is never changed.
    """

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int | None]
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(64))
    author_role: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.PENDING, index=True)
    # The audience snapshot, each channel's text, SMS parts and cost, as the approver saw them.
    preview: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Why it needs approval: the rules of the ``approval`` settings that matched.
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_role: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
