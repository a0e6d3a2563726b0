"""What a firm did on its policy page (``reach_events``): opened, confirmed, done, not
applicable, a question."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class ReachKind(enum.StrEnum):
    """The kinds of event kept about a firm and a policy: what the firm did on its page, and
    what staff and the reach ladder did about it."""

    OPENED = "opened"
    CONFIRMED = "confirmed"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"
    QUESTION = "question"
    # A staff member's call to the firm (its outcome and note in ``detail``).
    CALL = "call"
    # A reach ladder's rung sent the firm the policy again (``ladder:<working days>``).
    LADDER = "ladder"


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


class PolicyReach(Base):
    """How far one policy got with one firm (see :mod:`notifier.domain.reach`).

    Made when the policy's publication fans out, for every firm its targets match (whether or
    not it can be reached); kept up to date as deliveries, receipts, page events and staff
    calls arrive.
    """

    __tablename__ = "reach_states"
    __table_args__ = (Index("ix_reach_states_policy_state", "policy_id", "state"),)

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="targeted")
    # The firm asked a question (or a call found it needs help) that no call has answered yet.
    question_open: Mapped[bool] = mapped_column(default=False)
    # Deliveries made before this (a call found the number wrong) no longer count as reaching.
    stale_before: Mapped[datetime | None]
    # When the firm first confirmed (or said done): for "confirmed before the first deadline".
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
