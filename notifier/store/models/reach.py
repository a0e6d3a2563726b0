"""What a firm did on its policy page (``reach_events``): opened, confirmed, done, not
applicable, a question."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class ReachKind(enum.StrEnum):
    """The kinds of event a firm's page records."""

    OPENED = "opened"
    CONFIRMED = "confirmed"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"
    QUESTION = "question"


class ReachEvent(Base):
    """One thing a firm did about one policy.

    ``key`` makes a repeat a no-op: ``opened``, ``confirmed`` and ``not_applicable`` are kept
    once per firm and policy, ``done:<deadline id>`` once per deadline, a question once per
    text (a double press stores one).
    """

    __tablename__ = "reach_events"
    __table_args__ = (UniqueConstraint("policy_id", "enterprise_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
